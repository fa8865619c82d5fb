//! CSV exports (RFC 4180: comma-separated, CRLF line ends, a header row, a field quoted with `"`
//! when it holds a comma, a quote or a line break, quotes doubled inside).
//!
//! **Formula injection.** A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some
//! also after a tab or a carriage return) as a formula, and text here comes from shoppers (e-mail)
//! and creators (labels, ids). Such a text cell gets a leading `'`, which spreadsheets show as
//! text. Numbers are written as plain numbers: a negative amount (`-1200`) is a number, not a
//! formula, and only ever comes from the server's arithmetic.

use momentum_core::metrics::{Comparison, Estimate, GroupReport, Mean, Rate, Report, Step};
use momentum_core::money::Currency;

use super::dates::{day_of, format_day, format_timestamp};
use super::store::ExportRow;
use super::{arm_label, arm_of};

/// A CSV document being written.
#[derive(Debug, Default)]
pub struct Csv {
    out: String,
}

/// One cell.
pub enum Cell<'a> {
    /// Text (guarded against formula injection, quoted as needed).
    Text(&'a str),
    /// An integer.
    Int(i64),
    /// A count.
    Count(u64),
    /// A fraction or a mean.
    Float(f64),
    /// Nothing.
    Empty,
}

/// `text` as one CSV field.
pub fn text_field(text: &str) -> String {
    let guarded = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

impl Csv {
    /// Appends one row.
    pub fn row(&mut self, cells: &[Cell<'_>]) {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            match cell {
                Cell::Text(t) => self.out.push_str(&text_field(t)),
                Cell::Int(n) => self.out.push_str(&n.to_string()),
                Cell::Count(n) => self.out.push_str(&n.to_string()),
                Cell::Float(x) if x.is_finite() => self.out.push_str(&x.to_string()),
                Cell::Float(_) | Cell::Empty => {}
            }
        }
        self.out.push_str("\r\n");
    }

    /// Appends a header row.
    pub fn header(&mut self, names: &[&str]) {
        let cells: Vec<Cell<'_>> = names.iter().map(|n| Cell::Text(n)).collect();
        self.row(&cells);
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Columns of `orders.csv`.
pub const ORDER_COLUMNS: [&str; 27] = [
    "order_id",
    "created_at",
    "day",
    "offer_id",
    "arm",
    "variant",
    "holdout",
    "exit_offer",
    "order_status",
    "email",
    "country",
    "currency",
    "exponent",
    "tax_mode",
    "line_id",
    "line_label",
    "line_amount",
    "line_tax",
    "line_charged",
    "charge_id",
    "charge_kind",
    "charge_status",
    "charge_amount",
    "refund_id",
    "refund_amount",
    "refunded_at",
    "line_net",
];

fn order_status(primary: &str) -> &'static str {
    match primary {
        "succeeded" => "paid",
        "requires_action" => "requires_action",
        "declined" => "declined",
        _ => "processing",
    }
}

/// `orders.csv`: one row per order line.
pub fn orders_csv(rows: &[ExportRow]) -> String {
    let mut csv = Csv::default();
    csv.header(&ORDER_COLUMNS);
    for r in rows {
        let exponent = Currency::from_code(&r.currency).map_or(2, |c| c.exponent());
        let charged = if r.tax_mode == "exclusive" {
            r.amount.saturating_add(r.tax_amount)
        } else {
            r.amount
        };
        let arm = arm_label(&arm_of(r.holdout, r.variant.as_deref()));
        let (created, day) = (
            format_timestamp(r.created_at),
            format_day(day_of(r.created_at)),
        );
        let (refund_id, refund_amount, refunded_at) = match &r.refund {
            Some((id, amount, at)) => (Cell::Text(id), Cell::Int(*amount), format_timestamp(*at)),
            None => (Cell::Empty, Cell::Empty, String::new()),
        };
        let paid = r.charge_status == "succeeded";
        let net = match (&r.refund, paid) {
            (_, false) => 0,
            (Some((_, amount, _)), true) => charged.saturating_sub(*amount),
            (None, true) => charged,
        };
        csv.row(&[
            Cell::Text(&r.order_id),
            Cell::Text(&created),
            Cell::Text(&day),
            Cell::Text(&r.offer_id),
            Cell::Text(&arm),
            Cell::Text(r.variant.as_deref().unwrap_or("")),
            Cell::Text(if r.holdout { "true" } else { "false" }),
            Cell::Text(if r.exit_offer { "true" } else { "false" }),
            Cell::Text(order_status(&r.primary_status)),
            Cell::Text(&r.email),
            Cell::Text(&r.country),
            Cell::Text(&r.currency),
            Cell::Count(u64::from(exponent)),
            Cell::Text(&r.tax_mode),
            Cell::Text(&r.line_id),
            Cell::Text(&r.label),
            Cell::Int(r.amount),
            Cell::Int(r.tax_amount),
            Cell::Int(charged),
            Cell::Text(&r.charge_id),
            Cell::Text(&r.charge_kind),
            Cell::Text(&r.charge_status),
            Cell::Int(r.charge_amount),
            refund_id,
            refund_amount,
            Cell::Text(&refunded_at),
            Cell::Int(net),
        ]);
    }
    csv.finish()
}

/// Columns of `metrics.csv`.
pub const METRIC_COLUMNS: [&str; 21] = [
    "offer_id",
    "currency",
    "exponent",
    "from",
    "to",
    "control",
    "arm",
    "metric",
    "unit",
    "numerator",
    "denominator",
    "value",
    "low",
    "high",
    "estimate",
    "needed",
    "vs_control",
    "difference",
    "difference_low",
    "difference_high",
    "difference_needed",
];

/// `(status, value, low, high, needed)` of an estimate.
fn estimate_cells(
    e: &Estimate,
) -> (
    &'static str,
    Cell<'static>,
    Cell<'static>,
    Cell<'static>,
    Cell<'static>,
) {
    match *e {
        Estimate::Value { value, low, high } => (
            "ok",
            Cell::Float(value),
            Cell::Float(low),
            Cell::Float(high),
            Cell::Empty,
        ),
        Estimate::NotEnoughData { needed, .. } => (
            "not_enough_data",
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Count(needed),
        ),
    }
}

struct Context<'a> {
    offer: &'a str,
    currency: &'static str,
    exponent: u8,
    from: String,
    to: String,
    control: String,
}

/// One metric of one arm.
struct Figure<'a> {
    metric: &'a str,
    unit: &'a str,
    numerator: Cell<'a>,
    denominator: Cell<'a>,
    estimate: Option<(&'a Estimate, &'a Comparison)>,
}

fn metric_row(csv: &mut Csv, cx: &Context<'_>, arm: &str, figure: Figure<'_>) {
    let Figure {
        metric,
        unit,
        numerator,
        denominator,
        estimate,
    } = figure;
    let mut cells = vec![
        Cell::Text(cx.offer),
        Cell::Text(cx.currency),
        Cell::Count(u64::from(cx.exponent)),
        Cell::Text(&cx.from),
        Cell::Text(&cx.to),
        Cell::Text(&cx.control),
        Cell::Text(arm),
        Cell::Text(metric),
        Cell::Text(unit),
        numerator,
        denominator,
    ];
    match estimate {
        None => cells.extend((0..10).map(|_| Cell::Empty)),
        Some((e, vs)) => {
            let (status, value, low, high, needed) = estimate_cells(e);
            cells.extend([value, low, high, Cell::Text(status), needed]);
            match vs {
                Comparison::IsControl => {
                    cells.push(Cell::Text("is_control"));
                    cells.extend((0..4).map(|_| Cell::Empty));
                }
                Comparison::NoControl => {
                    cells.push(Cell::Text("no_control"));
                    cells.extend((0..4).map(|_| Cell::Empty));
                }
                Comparison::Difference(d) => {
                    let (status, value, low, high, needed) = estimate_cells(d);
                    cells.extend([Cell::Text(status), value, low, high, needed]);
                }
            }
        }
    }
    csv.row(&cells);
}

fn group_rows(csv: &mut Csv, cx: &Context<'_>, group: &GroupReport) {
    for a in &group.arms {
        let arm = arm_label(&a.arm);
        let count = |csv: &mut Csv, metric: &str, n: u64| {
            let figure = Figure {
                metric,
                unit: "count",
                numerator: Cell::Count(n),
                denominator: Cell::Empty,
                estimate: None,
            };
            metric_row(csv, cx, &arm, figure)
        };
        let f = &a.funnel;
        count(csv, "visits", f.visits);
        count(csv, "visitors", f.visitors);
        for step in Step::ALL {
            count(csv, &format!("step:{}", step.as_str()), f.steps.get(step));
        }
        count(csv, "bump_checked", f.bump_checked);
        count(csv, "buyers", f.buyers);
        let m = &a.money;
        for (metric, value) in [
            ("gross", m.gross),
            ("refunded", m.refunded),
            ("fees", m.fees),
            ("support", m.support),
            ("net", m.net),
        ] {
            let figure = Figure {
                metric,
                unit: "minor",
                numerator: Cell::Int(value),
                denominator: Cell::Empty,
                estimate: None,
            };
            metric_row(csv, cx, &arm, figure);
        }
        let rates: [(&str, &Rate); 7] = [
            ("conversion", &a.conversion),
            ("bump_attach", &a.bump_attach),
            ("upsell_acceptance", &a.upsell_acceptance),
            ("downsell_acceptance", &a.downsell_acceptance),
            ("exit_offer_acceptance", &a.exit_offer_acceptance),
            ("exit_discount_share", &a.exit_discount_share),
            ("refund_rate", &a.refund_rate),
        ];
        for (metric, r) in rates {
            let figure = Figure {
                metric,
                unit: "fraction",
                numerator: Cell::Count(r.successes),
                denominator: Cell::Count(r.trials),
                estimate: Some((&r.estimate, &r.vs_control)),
            };
            metric_row(csv, cx, &arm, figure);
        }
        let means: [(&str, &Mean); 3] = [
            ("average_order_value", &a.average_order_value),
            ("net_per_buyer", &a.net_per_buyer),
            ("net_per_visitor", &a.net_per_visitor),
        ];
        for (metric, m) in means {
            let figure = Figure {
                metric,
                unit: "minor",
                numerator: Cell::Int(m.sum),
                denominator: Cell::Count(m.n),
                estimate: Some((&m.estimate, &m.vs_control)),
            };
            metric_row(csv, cx, &arm, figure);
        }
    }
}

/// `metrics.csv`: one row per arm and metric, for every currency group of the report.
pub fn metrics_csv(offer_id: &str, report: &Report) -> String {
    let mut csv = Csv::default();
    csv.header(&METRIC_COLUMNS);
    for group in &report.groups {
        let cx = Context {
            offer: offer_id,
            currency: group.currency.code(),
            exponent: group.currency.exponent(),
            from: format_day(report.range.first()),
            to: format_day(report.range.last()),
            control: arm_label(&report.control),
        };
        group_rows(&mut csv, &cx, group);
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_guarded() {
        assert_eq!(text_field("plain"), "plain");
        assert_eq!(text_field("a,b"), "\"a,b\"");
        assert_eq!(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(
            text_field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        for risky in ["+1", "-2+3", "@SUM(A1)", "\tx", "\r=1"] {
            let field = text_field(risky);
            assert!(
                field.starts_with('\'') || field.starts_with("\"'"),
                "{field}"
            );
        }
        let mut csv = Csv::default();
        csv.row(&[
            Cell::Int(-1200),
            Cell::Text("-1200"),
            Cell::Empty,
            Cell::Float(0.5),
        ]);
        assert_eq!(csv.finish(), "-1200,'-1200,,0.5\r\n");
    }
}
