//! The pictures, as SVG drawn by the server (no script): net revenue per buyer over time per arm
//! (a line chart from [`ArmReport::daily`](momentum_core::metrics::ArmReport)), and the funnel as
//! bars per arm. Each picture is `role="img"` named by its `<title>` (`aria-labelledby`), and its
//! numbers are in a data table right under it, in a `<details>`. Lines differ by colour (each at
//! least 4.5:1 on white), by dash pattern and by the arm's name written at their end; bars carry
//! their count as text.

use momentum_core::metrics::{ArmReport, GroupReport, Step};
use momentum_core::money::Currency;

use super::html::{self, esc};
use super::overview::arm_label;

/// Series styles (colour and dash, see `admin.css`); the holdout always gets the grey dashes.
fn series_class(a: &ArmReport, i: usize) -> String {
    match a.arm {
        momentum_core::metrics::Arm::Holdout => "series holdout".to_string(),
        _ => format!("series s{}", i % 5),
    }
}

const W: f64 = 640.0;
const H: f64 = 300.0;
const LEFT: f64 = 100.0;
const RIGHT: f64 = 136.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 48.0;

/// A step of 1, 2 or 5 × 10^k minor units that cuts `span` into about four.
fn nice_step(span: f64, currency: Currency) -> f64 {
    let unit = currency.minor_per_major() as f64;
    let raw = (span / 4.0).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    // Whole currency units when the span allows it.
    if span >= 4.0 * unit {
        (step / unit).ceil() * unit
    } else {
        step
    }
}

/// A point of the line: day index, value, and its 95 % interval when there is one (minor units).
type Point = (usize, f64, Option<(f64, f64)>);

/// One arm's cumulative net revenue per buyer on each day from its first buyer on.
fn cumulative(a: &ArmReport) -> Vec<Point> {
    let mut net = 0_i128;
    let mut points = Vec::new();
    for (i, d) in a.daily.iter().enumerate() {
        net += i128::from(d.net);
        if d.cumulative_buyers > 0 {
            let interval = match d.cumulative_net_per_buyer {
                momentum_core::metrics::Estimate::Value { low, high, .. } => Some((low, high)),
                _ => None,
            };
            points.push((i, net as f64 / d.cumulative_buyers as f64, interval));
        }
    }
    points
}

/// The line chart of net revenue per buyer (cumulative from the range's first day) per arm.
pub fn net_per_buyer(g: &GroupReport, gi: usize) -> String {
    let id = format!("g{gi}-npb");
    let currency = g.currency;
    let days = g.arms.iter().map(|a| a.daily.len()).max().unwrap_or(0);
    let series: Vec<_> = g.arms.iter().map(cumulative).collect();
    let values = series.iter().flatten().flat_map(|(_, v, band)| {
        let mut vs = vec![*v];
        if let Some((lo, hi)) = band {
            vs.extend([*lo, *hi]);
        }
        vs
    });
    let (mut lo, mut hi) = values.fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi - lo < 1.0 {
        hi = lo + currency.minor_per_major() as f64;
    }
    let step = nice_step(hi - lo, currency);
    lo = (lo / step).floor() * step;
    hi = (hi / step).ceil() * step;
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = |i: usize| {
        if days <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (days - 1) as f64
        }
    };
    let y = |v: f64| TOP + plot_h * (hi - v) / (hi - lo);
    let mut svg = format!(
        "<svg class=\"chart line\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-title\" \
focusable=\"false\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-title\">Net revenue per buyer over time, \
cumulative from the first day, per arm, in {}</title>",
        esc(currency.code())
    );
    // Grid and y labels.
    let mut tick = lo;
    let mut guard = 0;
    while tick <= hi + step / 2.0 && guard < 20 {
        let ty = y(tick);
        svg.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/>\
<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 8.0,
            ty + 6.0,
            esc(&html::money(tick.round() as i64, currency))
        ));
        tick += step;
        guard += 1;
    }
    // X labels: first, middle and last day.
    if let Some(a) = g.arms.first() {
        let mut marks = vec![0, days.saturating_sub(1)];
        if days > 2 {
            marks.insert(1, (days - 1) / 2);
        }
        marks.dedup();
        for (k, i) in marks.into_iter().enumerate() {
            if let Some(d) = a.daily.get(i) {
                let anchor = match (k, days) {
                    (_, 0 | 1) => "middle",
                    (0, _) => "start",
                    (_, _) if i == days - 1 => "end",
                    _ => "middle",
                };
                svg.push_str(&format!(
                    "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                    x(i),
                    H - BOTTOM + 30.0,
                    esc(&html::date(d.day))
                ));
            }
        }
    }
    // Bands, lines, markers.
    let mut labels = Vec::new();
    for (ai, (a, points)) in g.arms.iter().zip(&series).enumerate() {
        let class = series_class(a, ai);
        let band: Vec<_> = points
            .iter()
            .filter_map(|(i, _, b)| b.map(|(l, h)| (*i, l, h)))
            .collect();
        if band.len() > 1 {
            let upper = band
                .iter()
                .map(|(i, _, h)| format!("{:.1},{:.1}", x(*i), y(*h)));
            let lower = band
                .iter()
                .rev()
                .map(|(i, l, _)| format!("{:.1},{:.1}", x(*i), y(*l)));
            svg.push_str(&format!(
                "<polygon class=\"{class} band\" points=\"{}\"/>",
                upper.chain(lower).collect::<Vec<_>>().join(" ")
            ));
        }
        if points.len() > 1 {
            let line = points
                .iter()
                .map(|(i, v, _)| format!("{:.1},{:.1}", x(*i), y(*v)))
                .collect::<Vec<_>>()
                .join(" ");
            svg.push_str(&format!(
                "<polyline class=\"{class} stroke\" points=\"{line}\"/>"
            ));
        }
        for (i, v, _) in points {
            // A marker on every day with a buyer of this arm.
            if a.daily.get(*i).is_some_and(|d| d.buyers > 0) {
                svg.push_str(&format!(
                    "<circle class=\"{class} dot\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\"/>",
                    x(*i),
                    y(*v)
                ));
            }
        }
        if let Some((i, v, _)) = points.last() {
            labels.push((y(*v), x(*i), class, arm_label(&a.arm)));
        }
    }
    // Names at the end of the lines, pushed apart so they never overlap.
    labels.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut last_y = f64::MIN;
    for (ly, lx, class, name) in labels {
        let ly = ly.max(last_y + 22.0);
        last_y = ly;
        svg.push_str(&format!(
            "<text class=\"{class} name\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx.max(W - RIGHT) + 8.0,
            ly + 6.0,
            esc(&name)
        ));
    }
    if series.iter().all(Vec::is_empty) {
        svg.push_str(&format!(
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">No buyers in this range yet</text>",
            LEFT + plot_w / 2.0,
            TOP + plot_h / 2.0
        ));
    }
    svg.push_str("</svg>");
    // The numbers: one row per day on which any arm had a buyer.
    let mut head = String::from("<th scope=\"col\">Day</th>");
    for a in &g.arms {
        head.push_str(&format!(
            "<th scope=\"col\">{}</th>",
            esc(&arm_label(&a.arm))
        ));
    }
    let mut rows = String::new();
    for i in 0..days {
        let any = g
            .arms
            .iter()
            .any(|a| a.daily.get(i).is_some_and(|d| d.buyers > 0));
        if !any {
            continue;
        }
        let day = g.arms.iter().find_map(|a| a.daily.get(i)).map(|d| d.day);
        let mut cells = format!(
            "<th scope=\"row\">{}</th>",
            esc(&day.map(html::date).unwrap_or_default())
        );
        for points in &series {
            let cell = points
                .iter()
                .find(|(j, _, _)| *j == i)
                .map(|(_, v, _)| html::money_f(*v, currency))
                .unwrap_or_else(|| "–".to_string());
            cells.push_str(&format!("<td>{}</td>", esc(&cell)));
        }
        rows.push_str(&format!("<tr>{cells}</tr>"));
    }
    if rows.is_empty() {
        rows = format!(
            "<tr><td colspan=\"{}\">No buyers in this range yet.</td></tr>",
            g.arms.len() + 1
        );
    }
    format!(
        "<figure class=\"chart-box\" data-chart=\"net-per-buyer\">{svg}<figcaption>Net revenue per buyer, cumulative from {} \
(all of the range's buyers so far; the line settles as buyers come in).</figcaption>\
<details><summary>Net revenue per buyer as a table</summary><div class=\"scroll\" role=\"region\" aria-label=\"Net revenue per buyer by day\" tabindex=\"0\">\
<table><caption>Net revenue per buyer by day (cumulative), {}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div></details></figure>",
        esc(&g.arms.first().and_then(|a| a.daily.first()).map(|d| html::date(d.day)).unwrap_or_default()),
        esc(currency.code()),
    )
}

/// The funnel steps drawn as bars: name and count.
fn steps(a: &ArmReport) -> [(&'static str, u64); 7] {
    let f = &a.funnel;
    [
        ("Visitors", f.visitors),
        ("Started checkout", f.steps.get(Step::CheckoutInitiated)),
        ("Bought", f.buyers),
        ("Took the bump", f.with_bump),
        ("Took the upsell", f.with_upsell),
        ("Took the downsell", f.with_downsell),
        ("Refunded", f.with_refund),
    ]
}

/// The funnel as bars, one small picture per arm on one scale.
pub fn funnel(g: &GroupReport, gi: usize) -> String {
    let max = g
        .arms
        .iter()
        .flat_map(|a| steps(a).map(|(_, n)| n))
        .max()
        .unwrap_or(0)
        .max(1);
    const FW: f64 = 420.0;
    const LABEL: f64 = 150.0;
    const BAR: f64 = 180.0;
    const ROW: f64 = 30.0;
    let mut pictures = String::new();
    for (ai, a) in g.arms.iter().enumerate() {
        let id = format!("g{gi}-funnel{ai}");
        let rows = steps(a);
        let fh = 36.0 + ROW * rows.len() as f64;
        let class = series_class(a, ai);
        let name = esc(&arm_label(&a.arm));
        let mut svg = format!(
            "<svg class=\"chart bars\" viewBox=\"0 0 {FW} {fh}\" role=\"img\" aria-labelledby=\"{id}-title\" focusable=\"false\" \
xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}-title\">Funnel of {name}</title>\
<text class=\"{class} name\" x=\"0\" y=\"20\">{name}</text>"
        );
        for (ri, (label, n)) in rows.iter().enumerate() {
            let top = 32.0 + ROW * ri as f64;
            let width = (BAR * *n as f64 / max as f64).max(if *n > 0 { 2.0 } else { 0.0 });
            let share = if ri == 0 {
                String::new()
            } else {
                format!(" ({})", html::percent_exact(*n, a.funnel.visitors))
            };
            svg.push_str(&format!(
                "<text class=\"axis\" x=\"0\" y=\"{:.1}\">{label}</text>\
<rect class=\"{class} fill\" x=\"{LABEL}\" y=\"{:.1}\" width=\"{width:.1}\" height=\"18\"/>\
<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\">{}{}</text>",
                top + 14.0,
                top + 1.0,
                LABEL + width + 6.0,
                top + 14.0,
                html::count(*n),
                esc(&share)
            ));
        }
        svg.push_str("</svg>");
        pictures.push_str(&svg);
    }
    let mut head = String::from("<th scope=\"col\">Step</th>");
    for a in &g.arms {
        head.push_str(&format!(
            "<th scope=\"col\">{}</th>",
            esc(&arm_label(&a.arm))
        ));
    }
    let mut body = String::new();
    for (ri, label) in [
        "Visitors",
        "Started checkout",
        "Bought",
        "Took the bump",
        "Took the upsell",
        "Took the downsell",
        "Refunded",
    ]
    .iter()
    .enumerate()
    {
        let mut cells = format!("<th scope=\"row\">{label}</th>");
        for a in &g.arms {
            cells.push_str(&format!("<td>{}</td>", html::count(steps(a)[ri].1)));
        }
        body.push_str(&format!("<tr>{cells}</tr>"));
    }
    format!(
        "<figure class=\"chart-box\" data-chart=\"funnel\"><div class=\"bars-grid\">{pictures}</div>\
<figcaption>The funnel per arm: visitors, then how many started the checkout, bought, took each offer, and were refunded \
(shares of the arm's visitors).</figcaption>\
<details><summary>The funnel as a table</summary><div class=\"scroll\" role=\"region\" aria-label=\"Funnel by arm\" tabindex=\"0\">\
<table><caption>Funnel by arm</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></details></figure>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        let eur = Currency::from_code("EUR").expect("EUR");
        assert_eq!(nice_step(4900.0, eur), 2000.0);
        assert_eq!(nice_step(90.0, eur), 50.0);
        let jpy = Currency::from_code("JPY").expect("JPY");
        assert_eq!(nice_step(4900.0, jpy), 2000.0);
    }
}
