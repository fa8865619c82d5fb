//! The costs form: the payment fee (a percentage with up to two decimals, stored as basis
//! points, plus a fixed part per charge) and the support cost of one refund, both in minor units
//! of the order's currency. Net revenue on the overview is computed with them by the service.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use momentum_core::metrics::{Costs, MAX_FEE_BASIS_POINTS};
use momentum_core::money::MAX_PRICE_MINOR;

use super::html::{self, esc, Nav};
use super::overview::format_bp;
use super::{blocking, error_page, html_response, posted, query, see_other, signed_in, Ctx};

type St = State<Arc<Ctx>>;

/// Reads a percentage with at most two decimals (`2.9`, `2.90`, `2,90`) as basis points.
pub fn parse_percent(s: &str) -> Option<u32> {
    let s = s.trim().replace(',', ".");
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 3 || !digits(int) || frac.len() > 2 || !digits(frac) {
        return None;
    }
    if s.contains('.') && frac.is_empty() {
        return None;
    }
    let whole: u32 = int.parse().ok()?;
    let cents: u32 = format!("{frac:0<2}").parse().ok()?;
    let bp = whole.checked_mul(100)?.checked_add(cents)?;
    (bp <= MAX_FEE_BASIS_POINTS).then_some(bp)
}

/// Reads a whole number of minor units, 0 to [`MAX_PRICE_MINOR`].
pub fn parse_minor(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|v| *v <= MAX_PRICE_MINOR)
}

struct Field<'a> {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: &'a str,
    mode: &'static str,
    error: Option<&'static str>,
}

fn field(f: &Field) -> String {
    let (invalid, error) = match f.error {
        Some(e) => (
            format!(
                " aria-invalid=\"true\" aria-describedby=\"{n}-hint {n}-error\"",
                n = f.name
            ),
            format!("<p id=\"{}-error\" class=\"error\">{}</p>", f.name, esc(e)),
        ),
        None => (
            format!(" aria-describedby=\"{}-hint\"", f.name),
            String::new(),
        ),
    };
    format!(
        "<div class=\"field\"><label for=\"{n}\">{}</label><p id=\"{n}-hint\" class=\"hint\">{}</p>{error}\
<input id=\"{n}\" name=\"{n}\" type=\"text\" inputmode=\"{}\" autocomplete=\"off\" value=\"{}\"{invalid}></div>",
        esc(f.label),
        esc(f.hint),
        f.mode,
        esc(f.value),
        n = f.name,
    )
}

const PERCENT_ERROR: &str =
    "Enter a percentage from 0 to 100 with at most two decimals, like 2.90.";
const MINOR_ERROR: &str = "Enter a whole number of minor units, 0 or more, like 25.";

fn form_page(
    status: StatusCode,
    csrf: &str,
    values: [&str; 3],
    errors: [Option<&'static str>; 3],
    saved: bool,
) -> Response {
    let fields = [
        Field {
            name: "fee_percent",
            label: "Payment fee, percent of each charge",
            hint: "Up to two decimals: 2.90 means 2.9 %.",
            value: values[0],
            mode: "decimal",
            error: errors[0],
        },
        Field {
            name: "fee_fixed",
            label: "Fixed payment fee per charge, in minor units",
            hint: "Cents for EUR or USD (25 = €0.25), yen for JPY. An order with an upsell has two charges.",
            value: values[1],
            mode: "numeric",
            error: errors[1],
        },
        Field {
            name: "support",
            label: "Support cost per refund, in minor units",
            hint: "What handling one refund costs you (500 = €5.00).",
            value: values[2],
            mode: "numeric",
            error: errors[2],
        },
    ];
    let summary = if errors.iter().any(Option::is_some) {
        let items: String = fields
            .iter()
            .filter(|f| f.error.is_some())
            .map(|f| format!("<li><a href=\"#{}\">{}</a></li>", f.name, esc(f.label)))
            .collect();
        format!(
            "<div class=\"notice bad\" role=\"alert\"><p>Please correct these fields:</p><ul>{items}</ul></div>"
        )
    } else if saved {
        "<p class=\"notice ok\" role=\"status\">Costs saved. Net revenue on the overview now uses them.</p>".to_string()
    } else {
        String::new()
    };
    let main = format!(
        "<h1>Costs</h1>{summary}<p>Net revenue = gross − refunds − payment fees − support. Fees are per charge \
and are not given back on a refund. The same figures apply to every currency, in its minor units.</p>\
<form class=\"panel stack\" method=\"post\" action=\"/admin/costs\" novalidate>\
<input type=\"hidden\" name=\"csrf\" value=\"{}\">{}<button type=\"submit\">Save costs</button></form>",
        esc(csrf),
        fields.iter().map(field).collect::<String>()
    );
    html_response(status, html::page("Costs", Nav::Costs, Some(csrf), &main))
}

/// `GET /admin/costs`.
pub async fn form(State(ctx): St, uri: Uri, headers: HeaderMap) -> Response {
    let signed = match signed_in(&ctx, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let (service, key) = (ctx.app.service.clone(), signed.key.clone());
    let costs = match blocking(move || service.costs(Some(&key))).await {
        Ok(c) => c,
        Err(e) => return error_page(&e, &signed.csrf),
    };
    let values = [
        format_bp(costs.fee_basis_points),
        costs.fee_fixed_minor.to_string(),
        costs.support_per_refund_minor.to_string(),
    ];
    let saved = query(&uri).get("saved") == Some("1");
    form_page(
        StatusCode::OK,
        &signed.csrf,
        [&values[0], &values[1], &values[2]],
        [None, None, None],
        saved,
    )
}

/// `POST /admin/costs`: validates each field (errors next to it), saves, back to the form.
pub async fn save(State(ctx): St, req: Request) -> Response {
    let (signed, form) = match posted(&ctx, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let raw = [
        form.get("fee_percent").unwrap_or("").to_string(),
        form.get("fee_fixed").unwrap_or("").to_string(),
        form.get("support").unwrap_or("").to_string(),
    ];
    let bp = parse_percent(&raw[0]);
    let fixed = parse_minor(&raw[1]);
    let support = parse_minor(&raw[2]);
    let (Some(bp), Some(fixed), Some(support)) = (bp, fixed, support) else {
        return form_page(
            StatusCode::BAD_REQUEST,
            &signed.csrf,
            [&raw[0], &raw[1], &raw[2]],
            [
                bp.is_none().then_some(PERCENT_ERROR),
                fixed.is_none().then_some(MINOR_ERROR),
                support.is_none().then_some(MINOR_ERROR),
            ],
            false,
        );
    };
    let costs = Costs {
        fee_basis_points: bp,
        fee_fixed_minor: fixed,
        support_per_refund_minor: support,
    };
    let (service, key) = (ctx.app.service.clone(), signed.key.clone());
    match blocking(move || service.set_costs(costs, Some(&key))).await {
        Ok(()) => see_other("/admin/costs?saved=1"),
        Err(e) => error_page(&e, &signed.csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_become_basis_points() {
        assert_eq!(parse_percent("2.90"), Some(290));
        assert_eq!(parse_percent("2.9"), Some(290));
        assert_eq!(parse_percent(" 2,5 "), Some(250));
        assert_eq!(parse_percent("0"), Some(0));
        assert_eq!(parse_percent("100"), Some(10_000));
        for bad in [
            "100.01", "2.", ".5", "2.905", "-1", "abc", "", "1e2", "1000",
        ] {
            assert_eq!(parse_percent(bad), None, "{bad}");
        }
        assert_eq!(parse_minor("25"), Some(25));
        assert_eq!(parse_minor("-1"), None);
        assert_eq!(parse_minor("2.5"), None);
        assert_eq!(parse_minor("1000000001"), None);
    }
}
