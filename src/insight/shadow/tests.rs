//! The shadow comparison's unit tests: the median and tolerance rules alone, then both passes
//! and the join run over small logs, in memory and spilled to files.

use std::borrow::Cow;

use super::stats::Histogram;
use super::*;
use crate::domain::{Call, Money, Usage};
use crate::sources::CallSink;

const DAY_MS: i64 = 86_400_000;
/// 2026-04-01T00:00:00Z.
const APR1: i64 = 1_775_001_600_000;

fn call<'a>(
    ts_ms: i64,
    model: &'a str,
    id: Option<&'a str>,
    status: u16,
    prompt: u64,
    completion: u64,
) -> Call<'a> {
    Call {
        ts_ms,
        provider: Cow::Borrowed("openrouter"),
        model: Cow::Borrowed(model),
        usage: Usage {
            prompt,
            completion,
            ..Default::default()
        },
        total_logged: None,
        status,
        request_id: id.map(Cow::Borrowed),
        latency_ms: None,
        byok: false,
        shadow: false,
        shadow_of: None,
        tenant: None,
        response_model: None,
        cost: None,
    }
}

fn shadow<'a>(c: Call<'a>, of: Option<&'a str>) -> Call<'a> {
    Call {
        shadow: true,
        shadow_of: of.map(Cow::Borrowed),
        provider: Cow::Borrowed("ominigate"),
        ..c
    }
}

fn tol() -> Tolerance {
    Tolerance {
        tokens: 10,
        pct: Money::new(1, 1),
        usd: Money::ZERO,
    }
}

/// Runs both passes over `calls`, split across `workers` sinks (merged like the scan does).
fn run_with(calls: &[Call], workers: usize, limits: Limits, period: Period) -> ShadowReport {
    let run = ShadowRun::new(None, period, limits);
    let mut sinks: Vec<_> = (0..workers).map(|_| run.collector()).collect();
    for (i, c) in calls.iter().enumerate() {
        sinks[i % workers].accept(c);
    }
    let mut first = sinks.remove(0);
    for s in sinks {
        first.merge(s);
    }
    let collected = first.finish().unwrap();
    let mut sinks: Vec<_> = (0..workers).map(|_| run.primary_collector()).collect();
    for (i, c) in calls.iter().enumerate().rev() {
        sinks[i % workers].accept(c);
    }
    let mut first = sinks.remove(0);
    for s in sinks {
        first.merge(s);
    }
    first.finish().unwrap();
    run.join(collected, &tol()).unwrap()
}

fn run(calls: &[Call]) -> ShadowReport {
    run_with(calls, 2, Limits::default(), Period::default())
}

fn pairs_csv(r: &ShadowReport) -> String {
    std::fs::read_to_string(r.pairs_csv.path()).unwrap()
}

#[test]
fn nearest_rank_median_and_signed_max() {
    let h = |v: &[i64]| {
        let mut h = Histogram::default();
        for d in v {
            h.add(*d);
        }
        h.median_max()
    };
    // Sorted −3 1 2 5: n = 4, ⌈4/2⌉ = 2nd smallest = 1; largest magnitude 5.
    assert_eq!(h(&[5, -3, 2, 1]), Some((1, 5)));
    // n = 3: the 2nd smallest; −7 beats +4 by magnitude and keeps its sign.
    assert_eq!(h(&[4, -7, 0]), Some((0, -7)));
    // Ties of magnitude: +5 over −5, whatever the order.
    assert_eq!(h(&[-5, 5, 0, 0]), Some((0, 5)));
    assert_eq!(h(&[5, -5]), Some((-5, 5)));
    // Repeated values count with their multiplicity: −1 −1 −1 9 → 2nd = −1.
    assert_eq!(h(&[-1, 9, -1, -1]), Some((-1, 9)));
    assert_eq!(h(&[]), None);
}

#[test]
fn tolerance_bites_just_past_its_edge() {
    let t = tol();
    // max(10, 0.1 % of 1000 = 1) = 10.
    assert!(!outside(10, 1000, &t) && !outside(-10, 1000, &t));
    assert!(outside(11, 1000, &t) && outside(-11, 1000, &t));
    // max(10, 0.1 % of 20000 = 20) = 20.
    assert!(!outside(20, 20_000, &t));
    assert!(outside(21, 20_000, &t));
    // 0.1 % of 20500 = 20.5: 20 within, 21 over.
    assert!(!outside(-20, 20_500, &t) && outside(-21, 20_500, &t));
}

#[test]
fn pairs_drifts_and_every_kind_of_unpaired() {
    let t = APR1 + 3_600_000;
    let calls = vec![
        call(t, "m", Some("p1"), 200, 1000, 100),
        call(t, "m", Some("p2"), 200, 2000, 50),
        call(t, "m", Some("p3"), 500, 10, 0),
        call(t, "m", Some("dup"), 200, 300, 30),
        call(t, "m", Some("dup"), 200, 300, 31),
        call(t, "m", Some("twice"), 200, 400, 40),
        call(t, "m", Some("twice"), 200, 400, 40),
        // pairs: p1 (+2, −1), p1 again (−12, 0: over), p2 (0, +5), twice (+1, +1)
        shadow(call(t + 5, "m", Some("s1"), 200, 1002, 99), Some("p1")),
        shadow(call(t + 6, "m", Some("s2"), 200, 988, 100), Some("p1")),
        shadow(call(t + 7, "m", Some("s3"), 200, 2000, 55), Some("p2")),
        shadow(call(t + 8, "m", Some("s4"), 200, 401, 41), Some("twice")),
        // unpaired: failed primary, missing, ambiguous, no shadow_of, itself
        shadow(call(t + 9, "m", Some("s5"), 200, 10, 5), Some("p3")),
        shadow(call(t + 9, "m", Some("s6"), 200, 10, 5), Some("nope")),
        shadow(call(t + 9, "m", Some("s7"), 200, 300, 30), Some("dup")),
        shadow(call(t + 9, "m", Some("s8"), 200, 10, 5), None),
        shadow(call(t + 9, "m", Some("s9"), 200, 10, 5), Some("s9")),
        // a failed shadow call: neither
        shadow(call(t + 9, "m", Some("s10"), 502, 10, 0), Some("p1")),
        // shadow_of without shadow: user traffic
        Call {
            shadow_of: Some(Cow::Borrowed("p1")),
            ..call(t, "m", Some("u1"), 200, 1, 1)
        },
    ];
    let r = run(&calls);
    assert_eq!(r.rows.len(), 1);
    let row = &r.rows[0];
    assert_eq!(row.day.to_string(), "2026-04-01");
    assert_eq!((row.pairs, row.unpaired, row.over_tolerance), (4, 5, 1));
    // prompt drifts −12 0 1 2 → 2nd = 0, max −12; completion −1 0 1 5 → 0, max 5.
    assert_eq!(row.prompt_drift, Some((0, -12)));
    assert_eq!(row.completion_drift, Some((0, 5)));
    let u = r.totals.unpaired;
    assert_eq!(
        (
            u.failed_primary,
            u.missing,
            u.ambiguous,
            u.no_shadow_of,
            u.names_itself
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(r.totals.failed_shadows, 1);
    assert_eq!(r.totals.unmarked, 1);
    assert_eq!(r.totals.shadow_calls, 9);
    assert!(r.flagged());
    assert_eq!(
        pairs_csv(&r),
        "day,model,primary_request_id,shadow_request_id,prompt_drift,completion_drift\n\
         2026-04-01,m,p1,s2,-12,0\n"
    );
}

#[test]
fn day_and_period_are_the_shadow_calls() {
    let late = APR1 + DAY_MS - 10;
    let calls = vec![
        call(late, "m", Some("p"), 200, 100, 10),
        // The shadow runs past midnight: its day, 04-02, is the pair's.
        shadow(call(late + 20, "m", Some("s"), 200, 100, 10), Some("p")),
    ];
    let r = run(&calls);
    assert_eq!(r.rows.len(), 1);
    assert_eq!(r.rows[0].day.to_string(), "2026-04-02");
    assert!(!r.flagged());
    // Only 04-02 selected: the primary (04-01) is outside the period and still pairs.
    let d2 = Day::parse("2026-04-02");
    let period = Period { from: d2, to: d2 };
    let r = run_with(&calls, 1, Limits::default(), period);
    assert_eq!(r.rows[0].pairs, 1);
    // Only 04-01: no shadow call in the period, no row.
    let d1 = Day::parse("2026-04-01");
    let r = run_with(&calls, 1, Limits::default(), Period { from: d1, to: d1 });
    assert!(r.rows.is_empty());
}

#[test]
fn a_shadow_of_a_shadow_pairs_link_by_link() {
    let t = APR1;
    let calls = vec![
        call(t, "m", Some("p"), 200, 100, 10),
        // s1 mirrors p (+1, 0); s2 mirrors s1 (+2, −1).
        shadow(call(t + 1, "m", Some("s1"), 200, 101, 10), Some("p")),
        shadow(call(t + 2, "m", Some("s2"), 200, 103, 9), Some("s1")),
    ];
    let r = run(&calls);
    assert_eq!(r.rows[0].pairs, 2);
    // prompt +1 +2 → 1st = 1, max 2; completion −1 0 → −1, max −1.
    assert_eq!(r.rows[0].prompt_drift, Some((1, 2)));
    assert_eq!(r.rows[0].completion_drift, Some((-1, -1)));
}

#[test]
fn rows_sort_by_day_then_model_and_pairs_by_ids() {
    let t = APR1;
    let calls = vec![
        call(t, "b", Some("pb"), 200, 100, 10),
        call(t, "a", Some("pa2"), 200, 100, 10),
        call(t, "a", Some("pa1"), 200, 100, 10),
        shadow(call(t + DAY_MS, "b", Some("x"), 200, 200, 10), Some("pb")),
        shadow(call(t, "b", Some("y"), 200, 200, 10), Some("pb")),
        shadow(call(t, "a", Some("z"), 200, 200, 10), Some("pa2")),
        shadow(call(t, "a", Some("w"), 200, 200, 10), Some("pa1")),
        shadow(call(t, "=cmd", Some("@v"), 200, 1, 1), Some("-x")),
    ];
    let r = run(&calls);
    let keys: Vec<(String, &str)> = r
        .rows
        .iter()
        .map(|r| (r.day.to_string(), r.model.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("2026-04-01".to_string(), "=cmd"),
            ("2026-04-01".to_string(), "a"),
            ("2026-04-01".to_string(), "b"),
            ("2026-04-02".to_string(), "b"),
        ]
    );
    assert_eq!(crate::output::tables::shadow_table(&r).rows[0][1], "=cmd");
    assert!(
        String::from_utf8(crate::output::tables::shadow_table(&r).csv())
            .unwrap()
            .contains("\n2026-04-01,'=cmd,")
    );
    assert_eq!(
        pairs_csv(&r),
        "day,model,primary_request_id,shadow_request_id,prompt_drift,completion_drift\n\
         2026-04-01,a,pa1,w,100,0\n\
         2026-04-01,a,pa2,z,100,0\n\
         2026-04-01,b,pb,y,100,0\n\
         2026-04-02,b,pb,x,100,0\n"
    );
}

/// Tiny budgets: every partition spills to files and the pairs go through sorted runs; the
/// result is the one computed in memory.
#[test]
fn spilled_join_and_external_sort_give_the_in_memory_result() {
    let mut owned: Vec<(String, String, u64)> = Vec::new();
    for i in 0..3000u64 {
        owned.push((format!("gen-{i}"), format!("omg-{i}"), i));
    }
    let mut calls = Vec::new();
    for (p, s, i) in &owned {
        let t = APR1 + (*i as i64 % 5) * DAY_MS;
        let model = ["x", "y", "z"][*i as usize % 3];
        calls.push(call(
            t,
            model,
            Some(p),
            if i % 97 == 0 { 500 } else { 200 },
            1000 + i,
            100,
        ));
        // Every 7th pair drifts by +50 (over tolerance), the rest by i % 11 (within).
        let d = if i % 7 == 0 { 50 } else { i % 11 };
        let shadow_of = if i % 101 == 0 { "missing" } else { p.as_str() };
        calls.push(shadow(
            call(t + 1, model, Some(s), 200, 1000 + i + d, 100 + (i % 3)),
            Some(shadow_of),
        ));
    }
    let small = Limits {
        memory_bytes: 4096,
        run_bytes: 2048,
        bloom_bits_log2: 8,
    };
    let a = run_with(&calls, 3, Limits::default(), Period::default());
    let b = run_with(&calls, 3, small, Period::default());
    assert_eq!(a.totals.spilled_bytes, 0);
    assert!(
        b.totals.spilled_bytes > 0 && b.totals.sort_runs > 1,
        "{:?}",
        b.totals
    );
    assert_eq!(a.rows, b.rows);
    assert_eq!(pairs_csv(&a), pairs_csv(&b));
    assert_eq!(
        (a.totals.pairs, a.totals.unpaired.total()),
        (b.totals.pairs, b.totals.unpaired.total())
    );
    // 3000 shadows: 30 name "missing" (i % 101 == 0), 31 have a failed primary (i % 97 == 0;
    // i = 0 is both and counts as missing).
    assert_eq!(a.totals.unpaired.missing, 30);
    assert_eq!(a.totals.unpaired.failed_primary, 30);
    assert_eq!(a.totals.pairs, 3000 - 60);
    let lines = pairs_csv(&a).lines().count() - 1;
    assert_eq!(lines as u64, a.totals.over_tolerance);
    assert!(a.totals.over_tolerance > 400);
}
