//! The report's charts, drawn by `plotters` as inline SVG: stacked day bars, the logged vs
//! invoiced token lines, and horizontal bars; with the palette and the legends the page sets
//! beside them, so that a provider keeps its colour on every chart.

use std::fmt::Write as _;

use anyhow::Result;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;

use super::{escape, TokenDay};
use crate::domain::{Day, Money};

const WIDTH: u32 = 1100;

/// Distinct at a glance and in grey print; a provider keeps its colour on every chart.
pub(super) const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(23, 190, 207),
];
pub(super) const FLAG: RGBColor = RGBColor(214, 39, 40);

pub(super) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

pub(super) fn f(m: Money) -> f64 {
    m.to_f64().unwrap_or(0.0)
}

pub(super) fn legend(items: &[(String, RGBColor)]) -> String {
    let mut s = String::from("<p class=\"legend\">");
    for (name, c) in items {
        let _ = write!(
            s,
            "<span><i style=\"background:{}\"></i>{}</span>",
            css(*c),
            escape(name)
        );
    }
    s.push_str("</p>");
    s
}

/// An axis top a little above the largest value, so the tallest bar does not touch the frame.
fn top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        1.0
    } else {
        max * 1.08
    }
}

/// Plotters writes a standalone SVG document; inside HTML the namespace is implied, and
/// leaving it out keeps the page free of any URL.
fn inline(svg: String) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
}

fn short_day(d: Day) -> String {
    d.to_string()[5..].to_string()
}

/// Vertical bars per day: each series stacked on the ones before it.
pub(super) fn day_bars(
    days: &[Day],
    series: &[(Vec<f64>, RGBColor)],
    y_desc: &str,
) -> Result<String> {
    let n = days.len() as i32;
    let max = (0..days.len())
        .map(|i| series.iter().map(|s| s.0[i].max(0.0)).sum::<f64>())
        .fold(0.0, f64::max);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top(max))?;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => days.get(*i as usize).map(|d| short_day(*d)),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len())
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc(y_desc)
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut rects = Vec::new();
        for i in 0..n {
            let end = if i + 1 < n {
                SegmentValue::Exact(i + 1)
            } else {
                SegmentValue::Last
            };
            let mut base = 0.0;
            for (values, c) in series {
                let v = values[i as usize];
                if v > 0.0 {
                    let mut r = Rectangle::new(
                        [(SegmentValue::Exact(i), base), (end.clone(), base + v)],
                        c.filled(),
                    );
                    r.set_margin(0, 0, 2, 2);
                    rects.push(r);
                    base += v;
                }
            }
        }
        chart.draw_series(rects)?;
        root.present()?;
    }
    Ok(inline(svg))
}

/// Logged and invoiced tokens per day as two lines; flagged days shaded and marked.
pub(super) fn token_lines(days: &[TokenDay]) -> Result<String> {
    let n = days.len() as i32;
    let m = |v: u128| v as f64 / 1e6;
    let max = days
        .iter()
        .map(|d| m(d.logged).max(m(d.invoiced)))
        .fold(0.0, f64::max);
    let (logged_c, invoiced_c) = (PALETTE[0], PALETTE[2]);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(72)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0f64..top(max))?;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => days.get(*i as usize).map(|d| short_day(d.day)),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(days.len())
            .x_label_formatter(&label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("million tokens")
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let t = top(max);
        chart.draw_series(
            days.iter()
                .enumerate()
                .filter(|(_, d)| !d.flagged.is_empty())
                .map(|(i, _)| {
                    let i = i as i32;
                    let end = if i + 1 < n {
                        SegmentValue::Exact(i + 1)
                    } else {
                        SegmentValue::Last
                    };
                    Rectangle::new(
                        [(SegmentValue::Exact(i), 0.0), (end, t)],
                        FLAG.mix(0.15).filled(),
                    )
                }),
        )?;
        let at = |i: usize| SegmentValue::CenterOf(i as i32);
        chart.draw_series(LineSeries::new(
            days.iter().enumerate().map(|(i, d)| (at(i), m(d.logged))),
            logged_c.stroke_width(2),
        ))?;
        chart.draw_series(LineSeries::new(
            days.iter().enumerate().map(|(i, d)| (at(i), m(d.invoiced))),
            invoiced_c.stroke_width(2),
        ))?;
        chart.draw_series(
            days.iter()
                .enumerate()
                .filter(|(_, d)| !d.flagged.is_empty())
                .map(|(i, d)| Circle::new((at(i), m(d.invoiced)), 5, FLAG.filled())),
        )?;
        root.present()?;
    }
    Ok(inline(svg))
}

/// One horizontal bar's pieces.
pub(super) enum Mark {
    /// A bar from `.0` to `.1` (USD).
    Span(f64, f64, RGBAColor),
    /// A thin tick at a value.
    Tick(f64),
}

/// Horizontal bars, one per label (top to bottom in the given order).
pub(super) fn hbars(labels: &[String], marks: &[Vec<Mark>], x_desc: &str) -> Result<String> {
    let n = labels.len() as i32;
    let max = marks
        .iter()
        .flatten()
        .map(|m| match m {
            Mark::Span(a, b, _) => a.max(*b),
            Mark::Tick(v) => *v,
        })
        .fold(0.0, f64::max);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let label_area = (longest.min(48) as u32 * 7 + 20).max(80);
    let height = 70 + 34 * labels.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..top(max), (0..n - 1).into_segmented())?;
        // Row 0 at the top: plotters counts upwards.
        let row = |i: usize| n - 1 - i as i32;
        let label = |v: &SegmentValue<i32>| {
            match v {
                SegmentValue::CenterOf(i) => labels.get((n - 1 - *i) as usize).map(|l| {
                    if l.chars().count() > 48 {
                        format!("{}…", l.chars().take(47).collect::<String>())
                    } else {
                        l.clone()
                    }
                }),
                _ => None,
            }
            .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(labels.len())
            .y_label_formatter(&label)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .x_desc(x_desc)
            .label_style(("sans-serif", 12))
            .light_line_style(TRANSPARENT)
            .draw()?;
        let mut shapes = Vec::new();
        let mut ticks = Vec::new();
        for (i, ms) in marks.iter().enumerate() {
            let r = row(i);
            let end = if r + 1 < n {
                SegmentValue::Exact(r + 1)
            } else {
                SegmentValue::Last
            };
            for m in ms {
                match m {
                    Mark::Span(a, b, c) if b > a => {
                        let mut rect = Rectangle::new(
                            [(*a, SegmentValue::Exact(r)), (*b, end.clone())],
                            c.filled(),
                        );
                        rect.set_margin(5, 5, 0, 0);
                        shapes.push(rect);
                    }
                    Mark::Span(..) => {}
                    Mark::Tick(v) => ticks.push(PathElement::new(
                        vec![(*v, SegmentValue::Exact(r)), (*v, end.clone())],
                        BLACK.stroke_width(3),
                    )),
                }
            }
        }
        chart.draw_series(shapes)?;
        chart.draw_series(ticks)?;
        root.present()?;
    }
    Ok(inline(svg))
}
