//! CSV downloads of the signed-in creator: the orders of a range (of one offer or all), and the
//! figures of the overview. `text/csv; charset=utf-8`, `Content-Disposition: attachment`; the CSV
//! itself is the service's (`orders_csv`, `metrics_csv`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use momentum_core::metrics::{Day, DayRange};
use momentum_core::offer::is_valid_id;

use super::html::{self, esc, Nav};
use super::overview::{default_control, parse_arm, today, DEFAULT_DAYS};
use super::{blocking, error_page, html_response, query, signed_in, Ctx, Form};

type St = State<Arc<Ctx>>;

fn bad(csrf: &str, message: &str) -> Response {
    let main = format!(
        "<h1>Nothing to download</h1><p role=\"alert\">{}</p><p><a href=\"/admin\">Back to the overview</a></p>",
        esc(message)
    );
    html_response(
        StatusCode::BAD_REQUEST,
        html::page("Nothing to download", Nav::None, Some(csrf), &main),
    )
}

/// The range of `from` and `to` (default: the last [`DEFAULT_DAYS`] days).
fn range(q: &Form) -> Result<DayRange, &'static str> {
    let last = today();
    let read = |name: &str, default: Day| match q.get(name).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => html::parse_date(s).ok_or("Dates must look like 2026-01-31."),
    };
    let first = read("from", Day(last.0 - (DEFAULT_DAYS - 1)))?;
    let last = read("to", last)?;
    DayRange::new(first, last).map_err(|_| "The range is empty or too long.")
}

fn csv(body: String, filename: &str) -> Response {
    let mut res = (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    // The name is built from validated ids and dates only.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        res.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    res
}

/// `GET /admin/export/orders.csv?offer=&from=&to=`.
pub async fn orders(State(ctx): St, uri: Uri, headers: HeaderMap) -> Response {
    let signed = match signed_in(&ctx, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let q = query(&uri);
    let offer = match q.get("offer").filter(|s| !s.is_empty()) {
        Some(id) if is_valid_id(id) => Some(id.to_string()),
        Some(_) => return bad(&signed.csrf, "That is not an offer id."),
        None => None,
    };
    let range = match range(&q) {
        Ok(r) => r,
        Err(m) => return bad(&signed.csrf, m),
    };
    let name = format!(
        "momentum-orders{}-{}-{}.csv",
        offer
            .as_deref()
            .map(|o| format!("-{o}"))
            .unwrap_or_default(),
        html::date(range.first()),
        html::date(range.last())
    );
    let (service, key) = (ctx.app.service.clone(), signed.key.clone());
    match blocking(move || service.orders_csv(offer.as_deref(), range, Some(&key))).await {
        Ok(body) => csv(body, &name),
        Err(e) => error_page(&e, &signed.csrf),
    }
}

/// `GET /admin/export/metrics.csv?offer=&from=&to=&control=`.
pub async fn metrics(State(ctx): St, uri: Uri, headers: HeaderMap) -> Response {
    let signed = match signed_in(&ctx, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let q = query(&uri);
    let Some(offer) = q
        .get("offer")
        .filter(|id| is_valid_id(id))
        .map(str::to_string)
    else {
        return bad(&signed.csrf, "Choose an offer on the overview first.");
    };
    let range = match range(&q) {
        Ok(r) => r,
        Err(m) => return bad(&signed.csrf, m),
    };
    let control = match q.get("control").filter(|s| !s.is_empty()) {
        Some(s) => match parse_arm(s) {
            Some(a) => a,
            None => return bad(&signed.csrf, "That is not an arm to compare with."),
        },
        None => {
            let (service, id) = (ctx.app.service.clone(), offer.clone());
            let config = tokio::task::spawn_blocking(move || service.offer(&id).ok())
                .await
                .ok()
                .flatten();
            default_control(config.as_ref())
        }
    };
    let name = format!(
        "momentum-metrics-{offer}-{}-{}.csv",
        html::date(range.first()),
        html::date(range.last())
    );
    let (service, key) = (ctx.app.service.clone(), signed.key.clone());
    match blocking(move || service.metrics_csv(&offer, range, control, Some(&key))).await {
        Ok(body) => csv(body, &name),
        Err(e) => error_page(&e, &signed.csrf),
    }
}
