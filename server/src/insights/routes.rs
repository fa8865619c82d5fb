//! HTTP routes of the insights: `POST /v1/events` and the creator's `/v1/admin/costs`,
//! `/v1/admin/metrics`, `/v1/admin/metrics.csv`, `/v1/admin/orders.csv` (see `docs/api.md`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use momentum_core::metrics::{Arm, Day, DayRange};

use super::dates::{day_of, format_day, parse_day};
use super::report::{report_json, CostsJson};
use super::{parse_arm, EventBatch};
use crate::error::{ApiError, ApiResult};
use crate::http::{
    bearer, blocking, body_bytes, json_response, parse_object, result, Admin, ApiJson, AppState,
};
use crate::util::now_secs;

type St = State<Arc<AppState>>;

/// Days a report or export covers when `from` is not given: the last 30 days up to `to`.
pub const DEFAULT_RANGE_DAYS: i32 = 30;

/// The routes, merged into the API router (inside its `Cache-Control: no-store`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/events", post(post_events))
        .route("/v1/admin/costs", get(get_costs).put(put_costs))
        .route("/v1/admin/metrics", get(get_metrics))
        .route("/v1/admin/metrics.csv", get(get_metrics_csv))
        .route("/v1/admin/orders.csv", get(get_orders_csv))
}

/// `application/json`, or `text/plain` (what the widget sends: a CORS-simple request needs no
/// preflight, and a closing tab's `keepalive` fetch or `sendBeacon` would not wait for one).
fn is_event_body(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.eq_ignore_ascii_case("text/plain")
}

async fn post_events(State(s): St, req: Request) -> Response {
    if !is_event_body(req.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send Content-Type: text/plain or application/json",
        )
        .into_response();
    }
    let bytes = match body_bytes(req).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let batch: EventBatch = match parse_object(&bytes) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match blocking(move || s.service.record_events(&batch)).await {
        Ok(_) => json_response(StatusCode::ACCEPTED, &serde_json::json!({})),
        Err(e) => e.into_response(),
    }
}

/// The query parameters of `uri`, each at most once and each one of `allowed`.
fn query(uri: &Uri, allowed: &[&str]) -> ApiResult<HashMap<String, String>> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "the query string cannot be read",
        )
    })?;
    let mut out = HashMap::new();
    for (key, value) in pairs {
        if !allowed.contains(&key.as_str()) {
            return Err(ApiError::field(
                "unknown_field",
                key.clone(),
                format!("unknown parameter; expected one of {}", allowed.join(", ")),
            ));
        }
        if out.insert(key.clone(), value).is_some() {
            return Err(ApiError::field(
                "invalid_field",
                key,
                "give this parameter once",
            ));
        }
    }
    Ok(out)
}

fn day_param(params: &HashMap<String, String>, name: &str) -> ApiResult<Option<Day>> {
    params
        .get(name)
        .map(|text| {
            parse_day(text).ok_or_else(|| {
                ApiError::field("invalid_field", name, "must be a date, YYYY-MM-DD (UTC)")
            })
        })
        .transpose()
}

/// `from` and `to` (UTC days, both included); by default the [`DEFAULT_RANGE_DAYS`] days up to
/// `to`, and `to` is today.
fn range(params: &HashMap<String, String>) -> ApiResult<DayRange> {
    let to = day_param(params, "to")?.unwrap_or_else(|| day_of(now_secs()));
    let from =
        day_param(params, "from")?.unwrap_or(Day(to.0.saturating_sub(DEFAULT_RANGE_DAYS - 1)));
    DayRange::new(from, to).map_err(|_| {
        ApiError::field(
            "invalid_range",
            "from",
            format!(
                "from must not be after to, and the range at most {} days",
                momentum_core::metrics::MAX_RANGE_DAYS
            ),
        )
    })
}

fn control(params: &HashMap<String, String>) -> ApiResult<Arm> {
    match params.get("control") {
        None => Ok(Arm::Holdout),
        Some(text) => parse_arm(text).ok_or_else(|| {
            ApiError::field(
                "invalid_field",
                "control",
                "must be holdout, base, or a variant id (variant:<id>)",
            )
        }),
    }
}

fn offer(params: &HashMap<String, String>) -> ApiResult<String> {
    params
        .get("offer")
        .cloned()
        .ok_or_else(|| ApiError::field("missing_field", "offer", "give the offer id: ?offer=…"))
}

fn csv_response(name: &str, range: &DayRange, body: String) -> Response {
    let file = format!(
        "attachment; filename=\"momentum-{name}-{}-{}.csv\"",
        format_day(range.first()),
        format_day(range.last())
    );
    let mut res = (
        StatusCode::OK,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        body,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&file) {
        res.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    res
}

async fn get_costs(State(s): St, _: Admin, headers: HeaderMap) -> Response {
    let auth = bearer(&headers);
    result(blocking(move || s.service.costs(auth.as_deref()).map(CostsJson::from)).await)
}

async fn put_costs(
    State(s): St,
    _: Admin,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CostsJson>,
) -> Response {
    let auth = bearer(&headers);
    result(
        blocking(move || {
            let service = &s.service;
            service.set_costs(body.into(), auth.as_deref())?;
            service.costs(auth.as_deref()).map(CostsJson::from)
        })
        .await,
    )
}

const METRIC_PARAMS: [&str; 4] = ["offer", "from", "to", "control"];

async fn get_metrics(State(s): St, _: Admin, headers: HeaderMap, uri: Uri) -> Response {
    let auth = bearer(&headers);
    result(
        blocking(move || {
            let params = query(&uri, &METRIC_PARAMS)?;
            let (offer, range, control) = (offer(&params)?, range(&params)?, control(&params)?);
            let report = s.service.metrics(&offer, range, control, auth.as_deref())?;
            Ok(report_json(&offer, &report))
        })
        .await,
    )
}

async fn get_metrics_csv(State(s): St, _: Admin, headers: HeaderMap, uri: Uri) -> Response {
    let auth = bearer(&headers);
    let answer = blocking(move || {
        let params = query(&uri, &METRIC_PARAMS)?;
        let (offer, range, control) = (offer(&params)?, range(&params)?, control(&params)?);
        let csv = s
            .service
            .metrics_csv(&offer, range, control, auth.as_deref())?;
        Ok((range, csv))
    })
    .await;
    match answer {
        Ok((range, csv)) => csv_response("metrics", &range, csv),
        Err(e) => e.into_response(),
    }
}

async fn get_orders_csv(State(s): St, _: Admin, headers: HeaderMap, uri: Uri) -> Response {
    let auth = bearer(&headers);
    let answer = blocking(move || {
        let params = query(&uri, &["offer", "from", "to"])?;
        let range = range(&params)?;
        let offer = params.get("offer").map(String::as_str);
        let csv = s.service.orders_csv(offer, range, auth.as_deref())?;
        Ok((range, csv))
    })
    .await;
    match answer {
        Ok((range, csv)) => csv_response("orders", &range, csv),
        Err(e) => e.into_response(),
    }
}
