//! Orders: search by e-mail or order id, each order with its lines, charges and refunds, and
//! refunding a line in two steps.
//!
//! 1. `POST /admin/orders/refund` (`order`, `line`, CSRF) asks "Refund €9.00 of line “…” to card
//!    Visa •••• 4242?" and records the question in the session under a random id.
//! 2. `POST /admin/orders/refund/confirm` (`confirmation`, CSRF) refunds through
//!    [`Service::refund`](crate::service::Service::refund). The confirmation id is the refund's
//!    idempotency key: the first submit runs it under the confirmation's lock, a second one (a
//!    double click, a reload) waits for it and gets the same outcome, so one confirmation refunds
//!    at most once (and the service refunds a line at most once whatever the key). Then `303` to
//!    the order, which shows the outcome.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use momentum_core::api::{card_label, OrderView, ReceiptLine, RefundRequest};
use momentum_core::money::Currency;
use momentum_core::tax::TaxMode;

use super::html::{self, esc, url_enc, Nav};
use super::session::{Confirmation, Outcome};
use super::{blocking, error_page, html_response, posted, query, see_other, signed_in, Ctx};

type St = State<Arc<Ctx>>;

fn amount(minor: i64, code: &str) -> String {
    match Currency::from_code(code) {
        Ok(c) => html::money(minor, c),
        Err(_) => format!("{minor} (minor units of {code})"),
    }
}

fn arm_of(o: &OrderView) -> String {
    let r = &o.receipt;
    if r.holdout {
        "Holdout".to_string()
    } else {
        match &r.variant {
            Some(v) => format!("Variant {v}"),
            None => "Base offer".to_string(),
        }
    }
}

/// What a refund of `line` returns: its amount, plus its tax when prices exclude tax.
fn refund_amount(o: &OrderView, line: &ReceiptLine) -> i64 {
    match o.receipt.tax_mode {
        TaxMode::Inclusive => line.amount,
        TaxMode::Exclusive => line.amount.saturating_add(line.tax_amount),
    }
}

fn card_of(o: &OrderView, line: &ReceiptLine) -> String {
    o.receipt
        .charges
        .iter()
        .find(|c| c.id == line.charge_id)
        .map(|c| card_label(&c.card.brand, &c.card.last4))
        .unwrap_or_else(|| card_label(&o.card.brand, &o.card.last4))
}

fn order_article(o: &OrderView, i: usize, csrf: &str, q: &str) -> String {
    let r = &o.receipt;
    let cur = r.currency.as_str();
    let oid = esc(&o.order_id);
    let mut lines = String::new();
    for l in &r.lines {
        let action = if l.refunded {
            "Refunded".to_string()
        } else {
            format!(
                "<form method=\"post\" action=\"/admin/orders/refund\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"order\" value=\"{oid}\">\
<input type=\"hidden\" name=\"line\" value=\"{}\"><input type=\"hidden\" name=\"q\" value=\"{}\">\
<button type=\"submit\" class=\"secondary\">Refund<span class=\"vh\"> {}</span></button></form>",
                esc(csrf),
                esc(&l.id),
                esc(q),
                esc(&l.label),
            )
        };
        lines.push_str(&format!(
            "<tr data-line=\"{}\"><th scope=\"row\">{} <span class=\"tag\">{}</span></th><td>{}</td><td>{action}</td></tr>",
            esc(&l.id),
            esc(&l.label),
            esc(l.kind.as_str()),
            esc(&amount(refund_amount(o, l), cur)),
        ));
    }
    if r.lines.is_empty() {
        lines.push_str("<tr><td colspan=\"3\">No paid lines.</td></tr>");
    }
    let mut charges = String::new();
    for c in &r.charges {
        let why = c
            .decline
            .as_ref()
            .map(|d| format!(" <span class=\"muted\">({})</span>", esc(&d.code)))
            .unwrap_or_default();
        charges.push_str(&format!(
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}{why}</td><td>{}</td><td>{}</td></tr>",
            esc(c.kind.as_str()),
            esc(&amount(c.amount, cur)),
            esc(c.status.as_str()),
            esc(&card_label(&c.card.brand, &c.card.last4)),
            esc(&html::datetime(c.created_at)),
        ));
    }
    let refunds = if r.refunds.is_empty() {
        "<p class=\"muted\">No refunds.</p>".to_string()
    } else {
        let mut rows = String::new();
        for f in &r.refunds {
            let label = r
                .lines
                .iter()
                .find(|l| l.id == f.line_id)
                .map_or(f.line_id.as_str(), |l| l.label.as_str());
            rows.push_str(&format!(
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(label),
                esc(&amount(f.amount, cur)),
                esc(&html::datetime(f.created_at)),
                esc(&f.id),
            ));
        }
        format!(
            "<div class=\"scroll\" role=\"region\" aria-label=\"Refunds of order {oid}\" tabindex=\"0\"><table data-table=\"refunds\">\
<caption>Refunds</caption><thead><tr><th scope=\"col\">Line</th><th scope=\"col\">Amount</th><th scope=\"col\">When</th>\
<th scope=\"col\">Refund</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
    };
    format!(
        "<article class=\"order panel\" aria-labelledby=\"order-{i}\" data-order=\"{oid}\">\
<h2 id=\"order-{i}\">{email}</h2>\
<dl class=\"facts\"><div><dt>Order</dt><dd><code>{oid}</code></dd></div><div><dt>Placed</dt><dd>{placed}</dd></div>\
<div><dt>Offer</dt><dd>{offer}</dd></div><div><dt>Arm</dt><dd>{arm}</dd></div><div><dt>Status</dt><dd>{status}</dd></div>\
<div><dt>Total</dt><dd data-fact=\"total\">{total}</dd></div><div><dt>Refunded</dt><dd data-fact=\"refunded\">{refunded}</dd></div>\
<div><dt>Net</dt><dd data-fact=\"net\">{net}</dd></div></dl>\
<div class=\"scroll\" role=\"region\" aria-label=\"Lines of order {oid}\" tabindex=\"0\"><table data-table=\"lines\"><caption>Lines</caption>\
<thead><tr><th scope=\"col\">Line</th><th scope=\"col\">Amount</th><th scope=\"col\">Refund</th></tr></thead>\
<tbody>{lines}</tbody></table></div>\
<div class=\"scroll\" role=\"region\" aria-label=\"Charges of order {oid}\" tabindex=\"0\"><table data-table=\"charges\"><caption>Charges</caption>\
<thead><tr><th scope=\"col\">Charge</th><th scope=\"col\">Amount</th><th scope=\"col\">Status</th><th scope=\"col\">Card</th>\
<th scope=\"col\">When</th></tr></thead><tbody>{charges}</tbody></table></div>{refunds}</article>",
        email = esc(&r.email),
        placed = esc(&html::datetime(r.created_at)),
        offer = esc(&r.offer_id),
        arm = esc(&arm_of(o)),
        status = esc(o.status.as_str()),
        total = esc(&amount(r.total, cur)),
        refunded = esc(&amount(r.refunded, cur)),
        net = esc(&amount(r.net, cur)),
    )
}

/// `GET /admin/orders?q=…&notice=…`.
pub async fn list(State(ctx): St, uri: Uri, headers: HeaderMap) -> Response {
    let signed = match signed_in(&ctx, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let params = query(&uri);
    let q = params.get("q").unwrap_or("").trim().to_string();
    let mut notice = String::new();
    if let Some(id) = params.get("notice") {
        if let Some(c) = ctx.sessions.confirmation(&signed, id) {
            match &c.lock().await.outcome {
                Some(Outcome::Refunded(text)) => {
                    notice = format!("<p class=\"notice ok\" role=\"status\">{}</p>", esc(text))
                }
                Some(Outcome::Failed(text)) => {
                    notice = format!("<p class=\"notice bad\" role=\"alert\">{}</p>", esc(text))
                }
                None => {}
            }
        }
    }
    let (results, search_error) = if q.is_empty() {
        (Vec::new(), None)
    } else {
        let (service, key, query_text) = (ctx.app.service.clone(), signed.key.clone(), q.clone());
        match blocking(move || service.search_orders(&query_text, Some(&key))).await {
            Ok(orders) => (orders, None),
            Err(e) if e.status.is_client_error() => (Vec::new(), Some(e.message)),
            Err(e) => return error_page(&e, &signed.csrf),
        }
    };
    let (invalid, error) = match &search_error {
        Some(m) => (
            " aria-invalid=\"true\" aria-describedby=\"q-hint q-error\"",
            format!("<p id=\"q-error\" class=\"error\">{}</p>", esc(m)),
        ),
        None => (" aria-describedby=\"q-hint\"", String::new()),
    };
    let today = super::overview::today();
    let from = momentum_core::metrics::Day(today.0 - (super::overview::DEFAULT_DAYS - 1));
    let mut main = format!(
        "<h1>Orders</h1>{notice}\
<form class=\"panel search\" method=\"get\" action=\"/admin/orders\" role=\"search\">\
<div class=\"field\"><label for=\"q\">E-mail or order id</label><p id=\"q-hint\" class=\"hint\">The buyer's e-mail address, or an order id (ord_…). Newest orders first.</p>{error}\
<input id=\"q\" name=\"q\" type=\"search\" value=\"{}\" autocomplete=\"off\" spellcheck=\"false\"{invalid}></div>\
<div class=\"field actions\"><button type=\"submit\">Search</button></div></form>\
<p class=\"downloads\"><a href=\"/admin/export/orders.csv?from={}&amp;to={}\" download>Download the orders of the last {} days (CSV)</a></p>",
        esc(&q),
        url_enc(&html::date(from)),
        url_enc(&html::date(today)),
        super::overview::DEFAULT_DAYS,
    );
    if q.is_empty() {
        main.push_str("<p class=\"empty\">Search for a buyer's e-mail or an order id to see its orders and refund lines.</p>");
    } else if results.is_empty() && search_error.is_none() {
        main.push_str("<p class=\"empty\">No orders found.</p>");
    } else if !results.is_empty() {
        main.push_str(&format!(
            "<p class=\"muted\" role=\"status\">{} {} found.</p>",
            results.len(),
            if results.len() == 1 {
                "order"
            } else {
                "orders"
            }
        ));
    }
    for (i, o) in results.iter().enumerate() {
        main.push_str(&order_article(o, i, &signed.csrf, &q));
    }
    html_response(
        StatusCode::OK,
        html::page("Orders", Nav::Orders, Some(&signed.csrf), &main),
    )
}

fn back_to(q: &str) -> String {
    if q.is_empty() {
        "/admin/orders".to_string()
    } else {
        format!("/admin/orders?q={}", url_enc(q))
    }
}

fn refused(csrf: &str, status: StatusCode, message: &str, q: &str) -> Response {
    let main = format!(
        "<h1>No refund</h1><p role=\"alert\">{}</p><p><a href=\"{}\">Back to the orders</a></p>",
        esc(message),
        esc(&back_to(q))
    );
    html_response(
        status,
        html::page("No refund", Nav::Orders, Some(csrf), &main),
    )
}

/// `POST /admin/orders/refund`: the confirmation step.
pub async fn ask(State(ctx): St, req: Request) -> Response {
    let (signed, form) = match posted(&ctx, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let order_id = form.get("order").unwrap_or("").to_string();
    let line_id = form.get("line").unwrap_or("").to_string();
    let q = form.get("q").unwrap_or("").to_string();
    let (service, key, id) = (
        ctx.app.service.clone(),
        signed.key.clone(),
        order_id.clone(),
    );
    let order = match blocking(move || service.order(&id, Some(&key))).await {
        Ok(o) => o,
        Err(e) if e.status.is_client_error() => {
            return refused(&signed.csrf, e.status, &e.message, &q)
        }
        Err(e) => return error_page(&e, &signed.csrf),
    };
    let Some(line) = order.receipt.lines.iter().find(|l| l.id == line_id) else {
        return refused(
            &signed.csrf,
            StatusCode::NOT_FOUND,
            "This order has no such paid line.",
            &q,
        );
    };
    if line.refunded {
        return refused(
            &signed.csrf,
            StatusCode::CONFLICT,
            "This line was already refunded.",
            &q,
        );
    }
    let money = amount(refund_amount(&order, line), &order.receipt.currency);
    let card = card_of(&order, line);
    let summary = format!("{money} of line “{}” to card {card}", line.label);
    let confirmation = Confirmation {
        order_id: order.order_id.clone(),
        line_id: line.id.clone(),
        summary: summary.clone(),
        outcome: None,
    };
    let cid = match ctx.sessions.add_confirmation(&signed, confirmation) {
        Ok(Some(id)) => id,
        Ok(None) => return super::forbidden("You are not signed in, or your session has ended."),
        Err(e) => {
            eprintln!("momentum-server: no randomness for a confirmation id: {e}");
            return error_page(&crate::error::ApiError::internal(), &signed.csrf);
        }
    };
    let main = format!(
        "<h1>Confirm the refund</h1>\
<p class=\"question\" id=\"question\">Refund {} of line “{}” to card {}?</p>\
<dl class=\"facts\"><div><dt>Order</dt><dd><code>{}</code></dd></div><div><dt>E-mail</dt><dd>{}</dd></div></dl>\
<form method=\"post\" action=\"/admin/orders/refund/confirm\" aria-labelledby=\"question\" class=\"actions\">\
<input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"confirmation\" value=\"{}\">\
<input type=\"hidden\" name=\"q\" value=\"{}\">\
<button type=\"submit\">Confirm</button> <a class=\"button secondary\" href=\"{}\">Cancel</a></form>",
        esc(&money),
        esc(&line.label),
        esc(&card),
        esc(&order.order_id),
        esc(&order.receipt.email),
        esc(&signed.csrf),
        esc(&cid),
        esc(&q),
        esc(&back_to(&q)),
    );
    html_response(
        StatusCode::OK,
        html::page("Confirm the refund", Nav::Orders, Some(&signed.csrf), &main),
    )
}

/// `POST /admin/orders/refund/confirm`: refunds once per confirmation, then shows the order.
pub async fn confirm(State(ctx): St, req: Request) -> Response {
    let (signed, form) = match posted(&ctx, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let cid = form.get("confirmation").unwrap_or("").to_string();
    let q = form.get("q").unwrap_or("").to_string();
    let Some(confirmation) = ctx.sessions.confirmation(&signed, &cid) else {
        return refused(
            &signed.csrf,
            StatusCode::CONFLICT,
            "This confirmation has expired. Start the refund again from the order.",
            &q,
        );
    };
    // The refund runs in its own task holding the confirmation's lock: a second submit waits
    // for it, then sees the outcome and refunds nothing; and a first submit that the browser
    // abandons (a double click cancels the first request) still records its outcome.
    let (service, key) = (ctx.app.service.clone(), signed.key.clone());
    let reason = format!("dashboard confirmation {}", &cid[..16.min(cid.len())]);
    let task = tokio::spawn(async move {
        let mut c = confirmation.lock_owned().await;
        if c.outcome.is_none() {
            let (order_id, line_id) = (c.order_id.clone(), c.line_id.clone());
            let request = RefundRequest {
                reason: Some(reason),
            };
            let result =
                blocking(move || service.refund(&order_id, &line_id, Some(&key), &request)).await;
            c.outcome = Some(match result {
                Ok(done) => Outcome::Refunded(format!(
                    "Refunded {} (refund {}).",
                    c.summary, done.refund.id
                )),
                Err(e) if e.code == "line_already_refunded" => Outcome::Failed(
                    "This line was already refunded; nothing more was refunded.".to_string(),
                ),
                // Transient: the confirmation stays answerable, so Confirm can be pressed again.
                Err(e) if e.status.is_server_error() => return Err(e),
                Err(e) => Outcome::Failed(format!("The refund was refused: {}", e.message)),
            });
        }
        Ok(c.order_id.clone())
    });
    let order_id = match task.await {
        Ok(Ok(id)) => id,
        Ok(Err(e)) => return error_page(&e, &signed.csrf),
        Err(_) => return error_page(&crate::error::ApiError::internal(), &signed.csrf),
    };
    see_other(&format!(
        "/admin/orders?q={}&notice={}",
        url_enc(&order_id),
        url_enc(&cid)
    ))
}
