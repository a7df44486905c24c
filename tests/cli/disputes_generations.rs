//! OpenRouter generation records as a bill (docs/formats.md §3 and §11): read as billed calls
//! for per-call matching and as the day × model lines `recon.csv` compares. The month of
//! tests/fixtures/disputes/generations has planted faults; its README has the table of calls,
//! and the expected files below are computed by hand from it.

use std::path::Path;

use crate::util::{fixture, read, root, run_out, spendrecon};

const FIX: &str = "tests/fixtures/disputes/generations";

fn reconcile(
    logs: &[&str],
    invoices: &Path,
    rates: &str,
) -> (tempfile::TempDir, std::process::Output) {
    let mut cmd = spendrecon();
    cmd.current_dir(root())
        .args(["reconcile", "--rates", rates, "--logs"])
        .args(logs)
        .arg("--invoices")
        .arg(invoices);
    run_out(&mut cmd)
}

const DISPUTES_HEADER: &str =
    "provider,day,kind,calls,prompt_tokens,completion_tokens,amount_usd,evidence,note\n";
const EVIDENCE_HEADER: &str = "provider,day,kind,model,request_id,generation_id,log_ts,billed_ts,log_prompt_tokens,log_completion_tokens,billed_prompt_tokens,billed_completion_tokens,expected_usd,billed_usd,claim_usd,source,detail\n";

#[test]
fn planted_faults_in_generation_records_become_the_hand_computed_claims() {
    let (out, o) = reconcile(
        &[&format!("{FIX}/logs.jsonl")],
        Path::new(&format!("{FIX}/generations.jsonl")),
        &format!("{FIX}/rates"),
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    // One row per planted fault (README): G3 listed twice (its repeat on line 9: 4000 / 400
    // tokens, 0.0018); G6 billed, never logged (1000 / 100, 0.0045); G4 billed 20000 native
    // prompt tokens for 10000 logged (claim 0.075 − (10000·3 + 1000·15)/10⁶ = 0.075 − 0.045 =
    // 0.03); G7 logged, not billed ((8000·0.25 + 1000·2)/10⁶ = 0.004 in our favour, 0 claimed).
    let want = DISPUTES_HEADER.to_string()
        + "openrouter,2026-04-27,billed_twice,1,4000,400,0.0018,evidence/openrouter-2026-04-27-billed_twice.csv,1 generation billed again under an id already billed; claim the repeated rows' amounts\n"
        + "openrouter,2026-04-28,billed_not_logged,1,1000,100,0.0045,evidence/openrouter-2026-04-28-billed_not_logged.csv,1 generation billed that no logged call's request_id names\n"
        + "openrouter,2026-04-28,tokens_overbilled,1,20000,1000,0.03,evidence/openrouter-2026-04-28-tokens_overbilled.csv,1 call billed with more tokens than logged beyond the tolerance (10000 prompt and 0 completion tokens over); claim billed less the logged call at list price\n"
        + "openrouter,2026-04-29,logged_not_billed,1,8000,1000,0.00,evidence/openrouter-2026-04-29-logged_not_billed.csv,\"1 logged call not billed: USD 0.004 at list price in our favour, never claimed\"\n";
    assert_eq!(read(&out, "disputes.csv"), want);

    let g = format!("{FIX}/generations.jsonl");
    let evidence = [
        (
            "openrouter-2026-04-27-billed_twice.csv",
            // G3: logged 14:05:40, billed 14:05:40.125 (lines 3 and 9); the repeat is claimed.
            format!("openrouter,2026-04-27,billed_twice,openai/gpt-5-mini,gen-1777298740-Hn5bVc2xZl8kJh4gFd6s,gen-1777298740-Hn5bVc2xZl8kJh4gFd6s,2026-04-27T14:05:40.000Z,2026-04-27T14:05:40.125Z,4000,400,4000,400,0.0018,0.0018,0.0018,{g}:9,\n"),
        ),
        (
            "openrouter-2026-04-28-billed_not_logged.csv",
            // G6: no logged side at all.
            format!("openrouter,2026-04-28,billed_not_logged,anthropic/claude-sonnet-4.6,,gen-1777391130-Yu6iOp2lKj8hGf4dSa1q,,2026-04-28T15:45:30.750Z,,,1000,100,,0.0045,0.0045,{g}:6,\n"),
        ),
        (
            "openrouter-2026-04-28-tokens_overbilled.csv",
            // G4: 10000 / 1000 logged (0.045 at list price), 20000 / 1000 billed at 0.075.
            format!("openrouter,2026-04-28,tokens_overbilled,anthropic/claude-sonnet-4.6,gen-1777370401-Pm3nBv6cXz9aLs2dKf7g,gen-1777370401-Pm3nBv6cXz9aLs2dKf7g,2026-04-28T10:00:01.000Z,2026-04-28T10:00:01.500Z,10000,1000,20000,1000,0.045,0.075,0.03,{g}:4,\n"),
        ),
        (
            "openrouter-2026-04-29-logged_not_billed.csv",
            // G7: no billed side; expected 0.004, nothing claimed.
            "openrouter,2026-04-29,logged_not_billed,openai/gpt-5-mini,gen-1777450810-Mn7bVc3xZa9sDf5gHj2k,,2026-04-29T08:20:10.000Z,,8000,1000,,,0.004,,0.00,,\n".to_string(),
        ),
    ];
    let mut files: Vec<String> = std::fs::read_dir(out.path().join("evidence"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, evidence.iter().map(|(f, _)| *f).collect::<Vec<_>>());
    for (f, row) in &evidence {
        assert_eq!(
            read(out.path().join("evidence"), f),
            EVIDENCE_HEADER.to_string() + row,
            "{f}"
        );
    }
    // Nothing rejected: every record is a billed call (G5 cancelled, G8 BYOK with total_cost 0).
    assert_eq!(read(&out, "rejected.csv").lines().count(), 1);
    let files_csv = read(&out, "files.csv");
    assert!(files_csv.contains(&format!("{g},9,9,0,0")), "{files_csv}");

    // The day × model lines recon.csv compares: the records summed per day and model.
    let recon = read(&out, "recon.csv");
    let row = |day: &str, model: &str| {
        recon
            .lines()
            .find(|l| l.starts_with(&format!("{day},openrouter,{model},")))
            .unwrap_or_else(|| panic!("no {day} {model} row in\n{recon}"))
            .to_string()
    };
    // 04-27 gpt-5-mini: logged G1 + G3 = 16000 / 1300 tokens at 0.003 + 0.0018 = 0.0048;
    // billed G1 + G3 twice = 20000 / 1700 at 0.003 + 0.0018 + 0.0018 = 0.0066.
    let r = row("2026-04-27", "openai/gpt-5-mini");
    assert!(r.contains(",16000,1300,20000,1700,"), "{r}");
    assert!(r.contains(",0.0048,0.0066,"), "{r}");
    // 04-28 sonnet: logged G4 10000 / 1000 (0.045); billed G4 + G6 = 21000 / 1100 (0.0795).
    let r = row("2026-04-28", "anthropic/claude-sonnet-4.6");
    assert!(r.contains(",10000,1000,21000,1100,"), "{r}");
    assert!(r.contains(",0.045,0.0795,"), "{r}");
    // 04-29 sonnet: G9 alike on both sides.
    let r = row("2026-04-29", "anthropic/claude-sonnet-4.6");
    assert!(r.contains(",3000,300,3000,300,"), "{r}");
    assert!(r.contains(",0.0135,0.0135,"), "{r}");
    // 04-29 gpt-5-mini: logged G7 8000 / 1000 and G8 (BYOK) 2000 / 200 = 10000 / 1200, at list
    // price G7 alone, 0.004 (BYOK usage is paid upstream); billed G8 alone, 2000 / 200 at its
    // total_cost 0 (the BYOK fee; its upstream_inference_cost 0.0009 is not added).
    let r = row("2026-04-29", "openai/gpt-5-mini");
    assert!(r.contains(",10000,1200,2000,200,"), "{r}");
    assert!(r.contains(",0.004,0.00,"), "{r}");
    assert!(
        stderr.contains("DISPUTES openrouter: claimable USD 0.0363 in 4 rows"),
        "{stderr}"
    );
}

/// The records of tests/fixtures/schemas/openrouter_generations.jsonl (two with the `{"data":
/// …}` wrapper, one without) as a bill, written all wrapped and all unwrapped: the two bills
/// read the same, and match the same records read as logs (`--schema openrouter`) call for call.
#[test]
fn a_record_with_and_without_the_data_wrapper_reads_the_same() {
    let src = std::fs::read_to_string(fixture("schemas/openrouter_generations.jsonl")).unwrap();
    let unwrap = |l: &str| {
        l.strip_prefix("{\"data\":")
            .and_then(|l| l.strip_suffix('}'))
            .unwrap_or(l)
            .to_string()
    };
    let unwrapped: Vec<String> = src.lines().map(unwrap).collect();
    assert_eq!(
        src.lines().filter(|l| l.starts_with("{\"data\":")).count(),
        2,
        "the fixture mixes both forms"
    );
    let wrapped: Vec<String> = unwrapped
        .iter()
        .map(|l| format!("{{\"data\":{l}}}"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("c")).unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    std::fs::write(&a, unwrapped.join("\n") + "\n").unwrap();
    std::fs::write(&b, wrapped.join("\n") + "\n").unwrap();
    // A directory takes its .jsonl (and .json, .gz) files too.
    std::fs::write(
        dir.path().join("c/generations.json"),
        wrapped.join("\n") + "\n",
    )
    .unwrap();
    let logs = [
        "tests/fixtures/schemas/openrouter_generations.jsonl",
        "--schema",
        "openrouter",
    ];
    let rates = "tests/fixtures/schemas/rates";
    let (out_a, oa) = reconcile(&logs, &a, rates);
    let (out_b, ob) = reconcile(&logs, &b, rates);
    assert_eq!(
        oa.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&oa.stderr)
    );
    assert_eq!(
        ob.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ob.stderr)
    );
    let (out_c, oc) = reconcile(&logs, &dir.path().join("c"), rates);
    assert_eq!(
        oc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&oc.stderr)
    );
    let recon = read(&out_a, "recon.csv");
    assert_eq!(recon, read(&out_b, "recon.csv"));
    assert_eq!(recon, read(&out_c, "recon.csv"));
    assert_eq!(read(&out_a, "disputes.csv"), DISPUTES_HEADER);
    assert_eq!(read(&out_b, "disputes.csv"), DISPUTES_HEADER);
    // The native counts and total_cost (docs/schemas.md): C1 12000 / 900 at 0.003, C2 2400 /
    // 350 at 0.01245, C6 7000 / 2100 at 0.00735, on both sides.
    for (day, model, tokens, usd) in [
        (
            "2026-04-28",
            "openai/gpt-5-mini",
            "12000,900,12000,900",
            "0.003,0.003",
        ),
        (
            "2026-04-28",
            "anthropic/claude-sonnet-4.6",
            "2400,350,2400,350",
            "0.01245,0.01245",
        ),
        (
            "2026-04-29",
            "google/gemini-2.5-flash",
            "7000,2100,7000,2100",
            "0.00735,0.00735",
        ),
    ] {
        let r = recon
            .lines()
            .find(|l| l.starts_with(&format!("{day},openrouter,{model},")))
            .unwrap_or_else(|| panic!("no {day} {model} row in\n{recon}"));
        assert!(r.contains(&format!(",{tokens},")), "{r}");
        assert!(r.contains(&format!(",{usd},")), "{r}");
    }
}

/// Bad lines of a generation-records file are rejected with file, line, field and reason; the
/// good ones are still read. A JSON-lines file of something else is refused whole.
#[test]
fn bad_generation_records_are_rejected_with_line_and_reason() {
    let src = std::fs::read_to_string(fixture("schemas/openrouter_generations.jsonl")).unwrap();
    let good = src.lines().next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bill = dir.path().join("bill.jsonl.gz");
    let lines = [
        good.to_string(), // 1: used
        "{\"id\":\"gen-1\",\"total_cost\":0.1,\"created_at\":\"2026-04-28T10:00:00Z\"".into(), // 2: cut short
        good.replace(
            "\"native_tokens_prompt\":12000",
            "\"native_tokens_prompt\":null",
        ), // 3
        good.replace("\"total_cost\":0.003", "\"total_cost\":-0.003"),                         // 4
        good.replace("2026-04-28T09:15:02.25+00:00", "yesterday"),                             // 5
        good.replace(
            "\"native_tokens_cached\":8000",
            "\"native_tokens_cached\":13000",
        ), // 6
        String::new(), // 7: blank, not a row
        good.replace(
            "\"id\":\"gen-1777367702-k3Jd8Qx2mVn4Lp7RtY1a\"",
            "\"id\":17",
        ), // 8
        good.replace(
            "\"native_tokens_completion\":900",
            "\"native_tokens_completion\":9.5",
        ), // 9
    ];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, (lines.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(&bill, gz.finish().unwrap()).unwrap();
    let (out, o) = reconcile(
        &["tests/fixtures/schemas/spendrecon.jsonl"],
        &bill,
        "tests/fixtures/schemas/rates",
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rejected = read(&out, "rejected.csv");
    let f = bill.display().to_string();
    let rows: Vec<&str> = rejected.lines().skip(1).collect();
    assert_eq!(rows.len(), 7, "{rejected}");
    for (row, (line, want)) in rows.iter().zip([
        (2, "line is cut short"),
        (3, "missing required field `native_tokens_prompt`"),
        (4, "negative amount"),
        (5, "`yesterday` is not a date-time"),
        (
            6,
            "native_tokens_cached (13000) exceed native_tokens_prompt (12000)",
        ),
        (8, "`id` is not a string"),
        (9, "not a whole number of tokens"),
    ]) {
        assert!(row.starts_with(&format!("{f},{line},")), "{row}");
        assert!(row.contains(want), "line {line}: {row}");
    }
    let files = read(&out, "files.csv");
    assert!(files.contains(&format!("{f},8,1,0,7")), "{files}");

    // JSON lines that are not generation records: an error naming the file, exit status 2.
    let other = dir.path().join("other.jsonl");
    std::fs::write(&other, "{\"date\":\"2026-04-28\",\"amount_usd\":1}\n").unwrap();
    let (_, o) = reconcile(
        &["tests/fixtures/schemas/spendrecon.jsonl"],
        &other,
        "tests/fixtures/schemas/rates",
    );
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("other.jsonl") && stderr.contains("none of the first 20"),
        "{stderr}"
    );
}
