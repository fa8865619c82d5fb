//! The overview: per offer, date range and control arm, every arm's figures from
//! [`ArmReport`] with their 95 % intervals and differences against the control, and the pictures
//! ([`super::charts`]).
//!
//! Point values are exact (sums over counts from the report, rounded once for display) and are
//! shown even when an interval is not: the raw counts are always there ("1 of 3"), and an
//! [`Estimate::NotEnoughData`] reads "Not enough data yet (3 of 30 visitors needed)".

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use momentum_core::metrics::{
    Arm, ArmReport, Comparison, Day, DayRange, Estimate, GroupReport, Mean, Rate, Report,
    SampleCount, MAX_RANGE_DAYS,
};
use momentum_core::money::Currency;
use momentum_core::offer::{is_valid_id, OfferConfig};

use super::charts;
use super::html::{self, esc, url_enc, Nav};
use super::{blocking, error_page, html_response, query, signed_in, Ctx};
use crate::util::now_secs;

type St = State<Arc<Ctx>>;

/// Days shown when the form names none: the last 30, today included.
pub const DEFAULT_DAYS: i32 = 30;

/// Today (UTC): the day the default range ends.
pub fn today() -> Day {
    Day::from_unix_seconds(now_secs(), 0).unwrap_or(Day(0))
}

/// How an arm is written in a form (`holdout`, `base`, `variant:a`).
pub fn arm_param(arm: &Arm) -> String {
    match arm {
        Arm::Holdout => "holdout".to_string(),
        Arm::Base => "base".to_string(),
        Arm::Variant(id) => format!("variant:{id}"),
    }
}

/// Reads [`arm_param`].
pub fn parse_arm(s: &str) -> Option<Arm> {
    match s {
        "holdout" => Some(Arm::Holdout),
        "base" => Some(Arm::Base),
        _ => s
            .strip_prefix("variant:")
            .filter(|id| is_valid_id(id))
            .map(|id| Arm::Variant(id.to_string())),
    }
}

/// How an arm is named on the page (unescaped).
pub fn arm_label(arm: &Arm) -> String {
    match arm {
        Arm::Holdout => "Holdout".to_string(),
        Arm::Base => "Base offer".to_string(),
        Arm::Variant(id) => format!("Variant {id}"),
    }
}

/// The control when the form names none: the holdout if the offer has one, else its first
/// variant, else the base offer.
pub fn default_control(offer: Option<&OfferConfig>) -> Arm {
    match offer {
        Some(o) if o.holdout.is_some() => Arm::Holdout,
        Some(o) => o
            .variants
            .first()
            .map_or(Arm::Base, |v| Arm::Variant(v.id.clone())),
        None => Arm::Holdout,
    }
}

/// The arms a control can be chosen from: the offer's, then any others the report has.
fn arm_choices(offer: Option<&OfferConfig>, report: Option<&Report>, control: &Arm) -> Vec<Arm> {
    let mut arms = Vec::new();
    if let Some(o) = offer {
        if o.holdout.is_some() {
            arms.push(Arm::Holdout);
        }
        if o.variants.is_empty() {
            arms.push(Arm::Base);
        }
        arms.extend(o.variants.iter().map(|v| Arm::Variant(v.id.clone())));
    }
    let reported = report
        .into_iter()
        .flat_map(|r| r.groups.iter())
        .flat_map(|g| g.arms.iter().map(|a| a.arm.clone()));
    for arm in reported.chain(std::iter::once(control.clone())) {
        if !arms.contains(&arm) {
            arms.push(arm);
        }
    }
    arms
}

/// The offer, range and control the page shows, read from its query string.
pub struct Selection {
    /// Offer id (valid), if there is any offer.
    pub offer: Option<String>,
    /// First day, as typed or defaulted.
    pub from: String,
    /// Last day.
    pub to: String,
    /// The range, when both dates are valid.
    pub range: Option<DayRange>,
    /// The control arm.
    pub control: Arm,
    /// Problems, per field name.
    pub errors: Vec<(&'static str, String)>,
}

/// Reads `offer`, `from`, `to` and `control` (defaults: the first offer, the last
/// [`DEFAULT_DAYS`] days, [`default_control`]).
pub fn select(
    q: &super::Form,
    offers: &[String],
    offer_config: impl FnOnce(&str) -> Option<OfferConfig>,
) -> (Selection, Option<OfferConfig>) {
    let mut errors = Vec::new();
    let offer = match q.get("offer").filter(|s| !s.is_empty()) {
        Some(id) if offers.iter().any(|o| o == id) => Some(id.to_string()),
        Some(_) => {
            errors.push(("offer", "Choose one of your offers.".to_string()));
            offers.first().cloned()
        }
        None => offers.first().cloned(),
    };
    let config = offer.as_deref().and_then(offer_config);
    let last = today();
    let first = Day(last.0 - (DEFAULT_DAYS - 1));
    let read = |name: &'static str, default: Day, errors: &mut Vec<(&'static str, String)>| match q
        .get(name)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => (html::date(default), Some(default)),
        Some(text) => match html::parse_date(text) {
            Some(day) => (text.to_string(), Some(day)),
            None => {
                errors.push((name, "Enter a date like 2026-01-31.".to_string()));
                (text.to_string(), None)
            }
        },
    };
    let (from, first) = read("from", first, &mut errors);
    let (to, last) = read("to", last, &mut errors);
    let range = match (first, last) {
        (Some(a), Some(b)) if a > b => {
            errors.push((
                "to",
                "The last day must not be before the first.".to_string(),
            ));
            None
        }
        (Some(a), Some(b)) => match DayRange::new(a, b) {
            Ok(r) => Some(r),
            Err(_) => {
                errors.push((
                    "to",
                    format!("Choose a range of at most {MAX_RANGE_DAYS} days."),
                ));
                None
            }
        },
        _ => None,
    };
    let control = match q.get("control").filter(|s| !s.is_empty()) {
        None => default_control(config.as_ref()),
        Some(s) => match parse_arm(s) {
            Some(arm) => arm,
            None => {
                errors.push(("control", "Choose an arm to compare with.".to_string()));
                default_control(config.as_ref())
            }
        },
    };
    (
        Selection {
            offer,
            from,
            to,
            range,
            control,
            errors,
        },
        config,
    )
}

fn field_error(errors: &[(&'static str, String)], name: &str) -> Option<String> {
    errors
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| m.clone())
}

/// The GET form of the overview.
fn filters(sel: &Selection, offers: &[String], arms: &[Arm]) -> String {
    let described = |name: &str| match field_error(&sel.errors, name) {
        Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{name}-error\""),
        None => String::new(),
    };
    let error = |name: &str| match field_error(&sel.errors, name) {
        Some(m) => format!("<p id=\"{name}-error\" class=\"error\">{}</p>", esc(&m)),
        None => String::new(),
    };
    let mut offer_options = String::new();
    for o in offers {
        let selected = if sel.offer.as_deref() == Some(o.as_str()) {
            " selected"
        } else {
            ""
        };
        offer_options.push_str(&format!(
            "<option value=\"{v}\"{selected}>{v}</option>",
            v = esc(o)
        ));
    }
    let mut arm_options = String::new();
    for a in arms {
        let selected = if *a == sel.control { " selected" } else { "" };
        arm_options.push_str(&format!(
            "<option value=\"{}\"{selected}>{}</option>",
            esc(&arm_param(a)),
            esc(&arm_label(a))
        ));
    }
    format!(
        "<form class=\"filters panel\" method=\"get\" action=\"/admin\">\
<div class=\"field\"><label for=\"offer\">Offer</label>{}<select id=\"offer\" name=\"offer\"{}>{offer_options}</select></div>\
<div class=\"field\"><label for=\"from\">From</label>{}<input id=\"from\" name=\"from\" type=\"date\" value=\"{}\"{}></div>\
<div class=\"field\"><label for=\"to\">To</label>{}<input id=\"to\" name=\"to\" type=\"date\" value=\"{}\"{}></div>\
<div class=\"field\"><label for=\"control\">Compare with</label>{}<select id=\"control\" name=\"control\"{}>{arm_options}</select></div>\
<div class=\"field actions\"><button type=\"submit\">Show</button></div></form>",
        error("offer"),
        described("offer"),
        error("from"),
        esc(&sel.from),
        described("from"),
        error("to"),
        esc(&sel.to),
        described("to"),
        error("control"),
        described("control"),
    )
}

// ------------------------------------------------------------------------ figures

/// What the counts of a figure are called, for "not enough data" (observations, successes,
/// failures).
#[derive(Clone, Copy)]
pub struct Nouns(pub &'static str, pub &'static str, pub &'static str);

impl Nouns {
    fn of(&self, what: SampleCount) -> &'static str {
        match what {
            SampleCount::Observations => self.0,
            SampleCount::Successes => self.1,
            SampleCount::Failures => self.2,
        }
    }
}

/// "Not enough data yet (3 of 30 visitors needed)".
pub fn not_enough(e: &Estimate, nouns: Nouns, in_control: bool) -> Option<String> {
    match e {
        Estimate::NotEnoughData { of, n, needed } => Some(format!(
            "Not enough data {}yet ({} of {} {} needed)",
            if in_control { "in the control " } else { "" },
            html::count(*n),
            html::count(*needed),
            nouns.of(*of)
        )),
        Estimate::Value { .. } => None,
    }
}

fn nodata(text: &str) -> String {
    format!("<span class=\"nodata\">{}</span>", esc(text))
}

/// The value cell and the difference cell of a rate.
fn rate_cells(r: &Rate, nouns: Nouns) -> (String, String) {
    let mut value = format!(
        "<span class=\"value\">{}</span> <span class=\"count\">{} of {}</span>",
        html::percent_exact(r.successes, r.trials),
        html::count(r.successes),
        html::count(r.trials)
    );
    match &r.estimate {
        Estimate::Value { low, high, .. } => value.push_str(&format!(
            "<span class=\"ci\">95% CI <span class=\"nw\">{}</span> to <span class=\"nw\">{}</span></span>",
            html::percent(*low),
            html::percent(*high)
        )),
        e => value.push_str(&nodata(&not_enough(e, nouns, false).unwrap_or_default())),
    }
    let diff = comparison(&r.vs_control, &r.estimate, nouns, |v| {
        html::points_signed(v)
    });
    (value, diff)
}

fn comparison(c: &Comparison, own: &Estimate, nouns: Nouns, fmt: impl Fn(f64) -> String) -> String {
    match c {
        Comparison::IsControl => "<span class=\"muted\">Control</span>".to_string(),
        Comparison::NoControl => nodata("No data in the control arm"),
        Comparison::Difference(Estimate::Value { value, low, high }) => format!(
            "<span class=\"value\">{}</span><span class=\"ci\">95% CI <span class=\"nw\">{}</span> to <span class=\"nw\">{}</span></span>",
            fmt(*value),
            fmt(*low),
            fmt(*high)
        ),
        Comparison::Difference(e) => {
            // The arm's own shortfall comes first; when the arm has enough, it is the control's.
            let in_control = matches!(own, Estimate::Value { .. });
            nodata(&not_enough(e, nouns, in_control).unwrap_or_default())
        }
    }
}

/// The value cell and the difference cell of a mean in minor units.
fn mean_cells(m: &Mean, currency: Currency, nouns: Nouns) -> (String, String) {
    let mut value = match html::exact_mean_minor(m.sum, m.n) {
        Some(v) => format!(
            "<span class=\"value\">{}</span> <span class=\"count\">over {} {}</span>",
            html::money(v, currency),
            html::count(m.n),
            nouns.0
        ),
        None => format!(
            "<span class=\"value\">–</span> <span class=\"count\">no {} yet</span>",
            nouns.0
        ),
    };
    match &m.estimate {
        Estimate::Value { low, high, .. } => value.push_str(&format!(
            "<span class=\"ci\">95% CI <span class=\"nw\">{}</span> to <span class=\"nw\">{}</span></span>",
            html::money_f(*low, currency),
            html::money_f(*high, currency)
        )),
        e => value.push_str(&nodata(&not_enough(e, nouns, false).unwrap_or_default())),
    }
    let diff = comparison(&m.vs_control, &m.estimate, nouns, |v| {
        html::money_f_signed(v, currency)
    });
    (value, diff)
}

const VISITORS: Nouns = Nouns("visitors", "buyers", "visitors who did not buy");
const BUYERS: Nouns = Nouns("buyers", "buyers", "buyers");

fn row(key: &str, name: &str, cells: (String, String)) -> String {
    format!(
        "<tr data-figure=\"{key}\"><th scope=\"row\">{name}</th><td>{}</td><td>{}</td></tr>",
        cells.0, cells.1
    )
}

fn arm_figures(a: &ArmReport, currency: Currency, control: &str, id: &str) -> String {
    let label = esc(&arm_label(&a.arm));
    let plain = |n: u64| {
        (
            format!("<span class=\"value\">{}</span>", html::count(n)),
            String::new(),
        )
    };
    let mut rows = String::new();
    rows.push_str(&row(
        "net_per_visitor",
        "Net revenue per visitor <span class=\"tag\">headline</span>",
        mean_cells(&a.net_per_visitor, currency, VISITORS),
    ));
    rows.push_str(&row(
        "net_per_buyer",
        "Net revenue per buyer",
        mean_cells(&a.net_per_buyer, currency, BUYERS),
    ));
    let mut visitors = plain(a.funnel.visitors);
    if a.funnel.visits != a.funnel.visitors {
        visitors.0.push_str(&format!(
            " <span class=\"count\">({} visits recorded)</span>",
            html::count(a.funnel.visits)
        ));
    }
    rows.push_str(&row("visitors", "Visitors", visitors));
    rows.push_str(&row("buyers", "Buyers", plain(a.funnel.buyers)));
    rows.push_str(&row(
        "conversion",
        "Conversion",
        rate_cells(&a.conversion, VISITORS),
    ));
    rows.push_str(&row(
        "average_order_value",
        "Average order value",
        mean_cells(&a.average_order_value, currency, BUYERS),
    ));
    rows.push_str(&row(
        "bump_attach",
        "Bump attach rate",
        rate_cells(
            &a.bump_attach,
            Nouns("buyers", "orders with the bump", "orders without the bump"),
        ),
    ));
    rows.push_str(&row(
        "upsell_acceptance",
        "Upsell acceptance",
        rate_cells(
            &a.upsell_acceptance,
            Nouns(
                "visits offered the upsell",
                "upsells accepted",
                "upsells not accepted",
            ),
        ),
    ));
    rows.push_str(&row(
        "downsell_acceptance",
        "Downsell acceptance",
        rate_cells(
            &a.downsell_acceptance,
            Nouns(
                "visits offered the downsell",
                "downsells accepted",
                "downsells not accepted",
            ),
        ),
    ));
    rows.push_str(&row(
        "exit_offer_acceptance",
        "Exit offer accepted",
        rate_cells(
            &a.exit_offer_acceptance,
            Nouns(
                "visits shown the exit offer",
                "exit offers accepted",
                "exit offers not accepted",
            ),
        ),
    ));
    rows.push_str(&row(
        "exit_discount_share",
        "Orders with the exit discount",
        rate_cells(
            &a.exit_discount_share,
            Nouns("buyers", "orders with the discount", "orders without it"),
        ),
    ));
    rows.push_str(&row(
        "refund_rate",
        "Refund rate",
        rate_cells(
            &a.refund_rate,
            Nouns("buyers", "refunded orders", "orders not refunded"),
        ),
    ));
    let m = &a.money;
    let money_row = |key: &str, name: &str, v: i64| {
        format!(
            "<tr data-money=\"{key}\"><th scope=\"row\">{name}</th><td><span class=\"value\">{}</span></td></tr>",
            html::money(v, currency)
        )
    };
    let money_rows = [
        money_row("gross", "Gross revenue", m.gross),
        money_row("refunded", "Refunded", m.refunded),
        money_row("fees", "Payment fees", m.fees),
        money_row("support", "Support cost of refunds", m.support),
        money_row("net", "Net revenue", m.net),
    ]
    .concat();
    format!(
        "<section class=\"arm\" aria-labelledby=\"{id}\" data-arm=\"{param}\"><h3 id=\"{id}\">{label}</h3>\
<div class=\"scroll\" role=\"region\" aria-label=\"{label}: figures\" tabindex=\"0\"><table class=\"figures\" data-table=\"figures\">\
<caption class=\"vh\">{label}: figures</caption><thead><tr><th scope=\"col\">Figure</th><th scope=\"col\">{label}</th>\
<th scope=\"col\">Difference vs {control}</th></tr></thead><tbody>{rows}</tbody></table></div>\
<table class=\"money\" data-table=\"money\"><caption>{label}: money</caption><thead><tr><th scope=\"col\">Amount</th>\
<th scope=\"col\">{label}</th></tr></thead><tbody>{money_rows}</tbody></table></section>",
        param = esc(&arm_param(&a.arm)),
    )
}

fn headline(g: &GroupReport, control: &str, gi: usize) -> String {
    let mut rows = String::new();
    for a in &g.arms {
        let (value, diff) = mean_cells(&a.net_per_visitor, g.currency, VISITORS);
        rows.push_str(&format!(
            "<tr data-arm=\"{}\"><th scope=\"row\">{}</th><td>{value}</td><td>{diff}</td></tr>",
            esc(&arm_param(&a.arm)),
            esc(&arm_label(&a.arm))
        ));
    }
    let t = &g.totals;
    format!(
        "<section aria-labelledby=\"g{gi}-headline\"><h3 id=\"g{gi}-headline\">Net revenue per visitor</h3>\
<p class=\"explain\">The headline: what each visitor assigned to an arm is worth after refunds, fees and support. \
Per buyer alone can mislead: an offer that puts some shoppers off, or turns leavers into cheaper buyers, \
changes who buys. Per visitor compares like with like; per buyer and conversion explain it \
(per visitor = conversion × per buyer).</p>\
<div class=\"scroll\" role=\"region\" aria-label=\"Net revenue per visitor by arm\" tabindex=\"0\"><table class=\"figures\" data-table=\"headline\">\
<caption>Net revenue per visitor by arm, {cur}</caption><thead><tr><th scope=\"col\">Arm</th><th scope=\"col\">Per visitor</th>\
<th scope=\"col\">Difference vs {control}</th></tr></thead><tbody>{rows}</tbody></table></div>\
<p class=\"totals\" data-totals>All arms: {} visits, {} buyers, {} gross, {} refunded, {} net.</p></section>",
        html::count(t.visits),
        html::count(t.buyers),
        html::money(t.money.gross, g.currency),
        html::money(t.money.refunded, g.currency),
        html::money(t.money.net, g.currency),
        cur = esc(g.currency.code()),
    )
}

fn group_section(g: &GroupReport, control: &Arm, gi: usize, several: bool) -> String {
    let control_label = esc(&arm_label(control));
    let title = if several {
        format!("Figures in {}", esc(g.currency.code()))
    } else {
        format!(
            "Figures <span class=\"muted\">({})</span>",
            esc(g.currency.code())
        )
    };
    let mut arms = String::new();
    for (ai, a) in g.arms.iter().enumerate() {
        arms.push_str(&arm_figures(
            a,
            g.currency,
            &control_label,
            &format!("g{gi}-arm{ai}"),
        ));
    }
    let costs = &g.costs;
    format!(
        "<section class=\"group\" aria-labelledby=\"g{gi}\" data-currency=\"{cur}\"><h2 id=\"g{gi}\">{title}</h2>\
{headline}\
<section aria-labelledby=\"g{gi}-pictures\"><h3 id=\"g{gi}-pictures\">Pictures</h3><div class=\"charts\">{line}{funnel}</div></section>\
<div class=\"arms\">{arms}</div>\
<p class=\"muted\" data-costs data-fee-bp=\"{bp}\" data-fee-fixed=\"{fixed}\" data-support=\"{support}\">Costs applied: payment fee {}% + {} per charge, {} per refund (<a href=\"/admin/costs\">change</a>). \
Intervals are 95%. A rate needs 30 observations with 5 on each side, a mean 30, before an interval is shown.</p></section>",
        format_bp(costs.fee_basis_points),
        html::money(costs.fee_fixed_minor, g.currency),
        html::money(costs.support_per_refund_minor, g.currency),
        cur = esc(g.currency.code()),
        bp = costs.fee_basis_points,
        fixed = costs.fee_fixed_minor,
        support = costs.support_per_refund_minor,
        headline = headline(g, &control_label, gi),
        line = charts::net_per_buyer(g, gi),
        funnel = charts::funnel(g, gi),
    )
}

/// Basis points as a percentage with two decimals (`290` → `2.90`).
pub fn format_bp(bp: u32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// `GET /admin`.
pub async fn page(State(ctx): St, uri: Uri, headers: HeaderMap) -> Response {
    let signed = match signed_in(&ctx, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let q = query(&uri);
    let service = ctx.app.service.clone();
    let key = signed.key.clone();
    let offers = match blocking(move || service.offer_ids(Some(&key))).await {
        Ok(o) => o,
        Err(e) => return error_page(&e, &signed.csrf),
    };
    let service = ctx.app.service.clone();
    let (sel, config) = {
        let first = q.get("offer").map(str::to_string);
        let wanted = first
            .filter(|id| offers.contains(id))
            .or_else(|| offers.first().cloned());
        let config = match wanted {
            Some(id) => tokio::task::spawn_blocking(move || service.offer(&id).ok())
                .await
                .ok()
                .flatten(),
            None => None,
        };
        select(&q, &offers, |_| config)
    };
    let Some(offer) = sel.offer.clone() else {
        let main = "<h1>Overview</h1><p>No offers yet. Create one with <code>PUT /v1/offers/{id}</code>.</p>";
        return html_response(
            StatusCode::OK,
            html::page("Overview", Nav::Overview, Some(&signed.csrf), main),
        );
    };
    let report = match (&sel.range, sel.errors.is_empty()) {
        (Some(range), true) => {
            let (service, key, range, control, offer) = (
                ctx.app.service.clone(),
                signed.key.clone(),
                *range,
                sel.control.clone(),
                offer.clone(),
            );
            match blocking(move || service.metrics(&offer, range, control, Some(&key))).await {
                Ok(r) => Some(r),
                Err(e) => return error_page(&e, &signed.csrf),
            }
        }
        _ => None,
    };
    let arms = arm_choices(config.as_ref(), report.as_ref(), &sel.control);
    let mut main = String::from("<h1>Overview</h1>");
    if let Some(c) = &config {
        main.push_str(&format!(
            "<p class=\"lede\" data-offer-label>{} <span class=\"muted\">({})</span></p>",
            esc(&c.product.label),
            esc(&c.id)
        ));
    }
    main.push_str(&filters(&sel, &offers, &arms));
    let status = if sel.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    if let Some(report) = &report {
        let qs = format!(
            "offer={}&from={}&to={}",
            url_enc(&offer),
            url_enc(&html::date(report.range.first())),
            url_enc(&html::date(report.range.last())),
        );
        main.push_str(&format!(
            "<p class=\"downloads\"><a href=\"/admin/export/metrics.csv?{qs}&amp;control={}\" download>Download these figures (CSV)</a> \
<a href=\"/admin/export/orders.csv?{qs}\" download>Download these orders (CSV)</a></p>",
            url_enc(&arm_param(&report.control)),
            qs = qs.replace('&', "&amp;"),
        ));
        main.push_str(&format!(
            "<p class=\"muted\">{} to {} (UTC), compared with {}. Refunds count on the day of their order.</p>",
            esc(&html::date(report.range.first())),
            esc(&html::date(report.range.last())),
            esc(&arm_label(&report.control)),
        ));
        if report.groups.is_empty() {
            main.push_str("<p class=\"empty\">No visits or orders in this range yet.</p>");
        }
        let several = report.groups.len() > 1;
        for (gi, g) in report.groups.iter().enumerate() {
            main.push_str(&group_section(g, &report.control, gi, several));
        }
    }
    html_response(
        status,
        html::page("Overview", Nav::Overview, Some(&signed.csrf), &main),
    )
}
