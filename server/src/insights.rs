//! Creator insights (issue 13), the data side: the widget's funnel events (`POST /v1/events`), the
//! creator's costs, the metrics report computed from SQL sums (`momentum_core::metrics`), order
//! search and CSV exports. Service rules here; storage in [`store`] (SQLite:
//! `crate::sqlite::insights`); HTTP in [`routes`].
//!
//! The metrics are computed the one way core computes them: the store hands out **cells** (orders
//! of one arm and day with the same money shape, visits of one arm and day with the same steps),
//! each cell's money is worked out by `momentum_core::metrics::order_figures` (fees per charge,
//! support per refund, with the creator's current costs), multiplied by its count, and the sums go
//! to `Aggregates::add_sums`. So the report equals the row-wise fold
//! (`Aggregates::add_order` / `add_event_rows`) over the same rows: `sqlite::insights` tests it.
//!
//! Days are UTC days of the server's clock: an order counts on the day of its `created_at`, a
//! visit on the day its first batch of events arrived, refunds on their order's day.

pub mod csv;
pub mod dates;
pub mod events;
pub mod report;
pub mod routes;
pub mod store;

use axum::http::StatusCode;
use momentum_core::api::OrderView;
use momentum_core::metrics::{
    order_figures, Aggregates, Arm, ByLine, CostSchedule, Costs, DayRange, DaySums, Line,
    MetricsError, Order, OrderSums, Refund, Report, ReportQuery, SegmentKey, StepCounts,
    VisitCounts, MAX_FEE_BASIS_POINTS,
};
use momentum_core::money::Currency;
use momentum_core::offer::is_valid_id;
use momentum_core::quote::LineKind;

pub use events::{EventBatch, EventIn};
pub use store::{InsightsStore, OrderCell, Recorded, VisitCell};

use crate::error::{ApiError, ApiResult};
use crate::service::Service;
use crate::util::now_secs;
use store::VisitKey;

/// Most orders an order search returns.
pub const MAX_SEARCH_RESULTS: usize = 200;

/// Most rows (order lines) one `orders.csv` holds; a longer export asks for a shorter range.
pub const MAX_EXPORT_ROWS: usize = 250_000;

/// Largest fixed fee or support cost: the largest price an offer may have.
pub const MAX_COST_MINOR: i64 = 1_000_000_000;

const LINE_KINDS: [LineKind; 4] = [
    LineKind::Product,
    LineKind::Bump,
    LineKind::Upsell,
    LineKind::Downsell,
];

/// The arm of an order or visit: the holdout, else its variant, else the base offer.
pub fn arm_of(holdout: bool, variant: Option<&str>) -> Arm {
    if holdout {
        Arm::Holdout
    } else {
        Arm::from_variant(variant)
    }
}

/// `holdout`, `base` or `variant:<id>`: how the API and the CSV name an arm.
pub fn arm_label(arm: &Arm) -> String {
    match arm {
        Arm::Holdout => "holdout".into(),
        Arm::Base => "base".into(),
        Arm::Variant(id) => format!("variant:{id}"),
    }
}

/// An arm as the API names it: `holdout`, `base`, `variant:<id>`, or a bare variant id (a variant
/// called `holdout` or `base` needs the `variant:` prefix).
pub fn parse_arm(text: &str) -> Option<Arm> {
    match text {
        "holdout" => Some(Arm::Holdout),
        "base" => Some(Arm::Base),
        _ => {
            let id = text.strip_prefix("variant:").unwrap_or(text);
            is_valid_id(id).then(|| Arm::Variant(id.to_owned()))
        }
    }
}

fn storage(e: crate::store::StoreError) -> ApiError {
    ApiError::storage(e)
}

fn metrics_error(e: MetricsError) -> ApiError {
    match e {
        MetricsError::Overflow => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "amount_out_of_range",
            "a sum of the report is out of range",
        ),
        MetricsError::InvalidRange => ApiError::field(
            "invalid_range",
            "from",
            format!(
                "the range must run forward and span at most {} days",
                momentum_core::metrics::MAX_RANGE_DAYS
            ),
        ),
        other => {
            eprintln!("momentum-server: metrics: {other}");
            ApiError::internal()
        }
    }
}

fn unknown_offer(field: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_offer", "no such offer").with_field(field)
}

/// Checks costs as `PUT /v1/admin/costs` does, naming the field at fault.
pub fn check_costs(costs: &Costs) -> ApiResult<()> {
    if costs.fee_basis_points > MAX_FEE_BASIS_POINTS {
        return Err(ApiError::field(
            "invalid_percent",
            "fee_basis_points",
            format!("must be 0 to {MAX_FEE_BASIS_POINTS} (100 %)"),
        ));
    }
    for (field, value) in [
        ("fee_fixed_minor", costs.fee_fixed_minor),
        ("support_per_refund_minor", costs.support_per_refund_minor),
    ] {
        if !(0..=MAX_COST_MINOR).contains(&value) {
            return Err(ApiError::field(
                "invalid_amount",
                field,
                format!("must be 0 to {MAX_COST_MINOR} minor units"),
            ));
        }
    }
    costs.validate().map_err(metrics_error)
}

fn cell_currency(code: &str) -> Result<Currency, MetricsError> {
    Currency::from_code(code).map_err(|_| {
        eprintln!("momentum-server: metrics: stored currency {code:?} is unknown");
        MetricsError::InconsistentSums { field: "currency" }
    })
}

/// The sums of an order cell: one order of its shape, costed by core, times its count.
fn order_cell_sums(
    offer_id: &str,
    cell: &OrderCell,
    costs: &Costs,
) -> Result<DaySums, MetricsError> {
    let arm = arm_of(cell.holdout, cell.variant.as_deref());
    let day = momentum_core::metrics::Day(cell.day);
    let order = Order {
        order_id: format!(
            "{} order(s) of {offer_id} ({}) on day {}",
            cell.orders,
            arm_label(&arm),
            cell.day
        ),
        offer: offer_id.to_owned(),
        arm,
        currency: cell_currency(&cell.currency)?,
        day,
        exit_discount: cell.exit_offer,
        lines: LINE_KINDS
            .into_iter()
            .filter_map(|kind| cell.paid.get(kind).map(|amount| Line { kind, amount }))
            .collect(),
        charges: cell.charges.clone(),
        refunds: LINE_KINDS
            .into_iter()
            .filter(|kind| cell.refunded.get(*kind) != 0)
            .map(|kind| Refund {
                line: kind,
                amount: cell.refunded.get(kind),
                day,
            })
            .collect(),
    };
    let figures = order_figures(&order, costs)?;
    let n = cell.orders;
    let count = |flag: bool| if flag { n } else { 0 };
    let times = |value: u64| value.checked_mul(n).ok_or(MetricsError::Overflow);
    // |i64| · u64 < 2^127: never overflows i128.
    let money = |value: i64| i128::from(value) * i128::from(n);
    let by_line = |values: &ByLine<i64>| ByLine {
        product: money(values.product),
        bump: money(values.bump),
        upsell: money(values.upsell),
        downsell: money(values.downsell),
    };
    let squares = |value: i64| {
        u128::from(value.unsigned_abs())
            .pow(2)
            .checked_mul(u128::from(n))
            .ok_or(MetricsError::Overflow)
    };
    Ok(DaySums {
        visits: VisitCounts::default(),
        orders: OrderSums {
            buyers: n,
            with_bump: count(figures.has_line.bump),
            with_upsell: count(figures.has_line.upsell),
            with_downsell: count(figures.has_line.downsell),
            with_exit_discount: count(cell.exit_offer),
            with_refund: count(figures.refunds > 0),
            charges: times(figures.charges)?,
            refunds: times(figures.refunds)?,
            gross: by_line(&figures.gross),
            refunded: by_line(&figures.refunded),
            fees: money(figures.fees),
            support: money(figures.support),
            gross_squares: squares(figures.gross_total()?)?,
            net_squares: squares(figures.net()?)?,
        },
    })
}

/// The sums of a visit cell.
fn visit_cell_sums(cell: &VisitCell) -> DaySums {
    let mut steps = StepCounts::default();
    for step in cell.steps.iter() {
        steps.set(step, cell.visits);
    }
    DaySums {
        visits: VisitCounts {
            visits: cell.visits,
            steps,
            bump_checked: if cell.bump_checked { cell.visits } else { 0 },
        },
        orders: OrderSums::default(),
    }
}

/// The aggregates of one offer's cells with `costs` (the SQL path into core's metrics).
pub fn aggregates_of(
    offer_id: &str,
    orders: &[OrderCell],
    visits: &[VisitCell],
    costs: Costs,
) -> Result<Aggregates, MetricsError> {
    let mut aggregates = Aggregates::new(CostSchedule::uniform(costs)?);
    let key = |currency: &str, holdout: bool, variant: Option<&str>| {
        Ok::<_, MetricsError>(SegmentKey {
            offer: offer_id.to_owned(),
            currency: cell_currency(currency)?,
            arm: arm_of(holdout, variant),
        })
    };
    for cell in visits {
        let key = key(&cell.currency, cell.holdout, cell.variant.as_deref())?;
        aggregates.add_sums(
            &key,
            momentum_core::metrics::Day(cell.day),
            &visit_cell_sums(cell),
        )?;
    }
    for cell in orders {
        let key = key(&cell.currency, cell.holdout, cell.variant.as_deref())?;
        let sums = order_cell_sums(offer_id, cell, &costs)?;
        aggregates.add_sums(&key, momentum_core::metrics::Day(cell.day), &sums)?;
    }
    Ok(aggregates)
}

impl Service {
    /// `POST /v1/events`: records one batch of one visit's funnel events (see [`events`]). A
    /// batch sent again is stored once. Rate limited per client address by the HTTP layer
    /// (`events` budget), before the body is read; the service needs no address, and keeps none.
    pub fn record_events(&self, batch: &EventBatch) -> ApiResult<()> {
        let events = events::check_batch(batch)?;
        let offer = self
            .store()
            .offer(&batch.offer_id)
            .map_err(storage)?
            .ok_or_else(|| unknown_offer("offer_id"))?;
        events::check_against_offer(batch, &offer)?;
        let visit = VisitKey {
            visit_id: &batch.visit_id,
            offer_id: &batch.offer_id,
            variant: batch.variant.as_deref(),
            holdout: batch.holdout,
            currency: &batch.currency,
        };
        self.store()
            .record_events(&visit, &events, now_secs())
            .map(|_| ())
            .map_err(storage)
    }

    fn known_offer(&self, offer_id: &str) -> ApiResult<()> {
        self.store()
            .offer(offer_id)
            .map_err(storage)?
            .map(|_| ())
            .ok_or_else(|| unknown_offer("offer"))
    }

    /// The metrics of `offer_id` over `range` (UTC days), arms compared with `control` (admin).
    pub fn metrics(
        &self,
        offer_id: &str,
        range: DayRange,
        control: Arm,
        bearer: Option<&str>,
    ) -> ApiResult<Report> {
        self.require_admin(bearer)?;
        self.known_offer(offer_id)?;
        let costs = self.store().costs().map_err(storage)?;
        let (orders, visits) = self
            .store()
            .insight_cells(offer_id, range.first().0, range.last().0)
            .map_err(storage)?;
        aggregates_of(offer_id, &orders, &visits, costs)
            .and_then(|a| a.report(&ReportQuery { range, control }))
            .map_err(metrics_error)
    }

    /// `GET /v1/admin/costs`.
    pub fn costs(&self, bearer: Option<&str>) -> ApiResult<Costs> {
        self.require_admin(bearer)?;
        self.store().costs().map_err(storage)
    }

    /// `PUT /v1/admin/costs`: replaces the costs every report applies from now on (to every
    /// order, past ones included: costs are not stored per order).
    pub fn set_costs(&self, costs: Costs, bearer: Option<&str>) -> ApiResult<()> {
        self.require_admin(bearer)?;
        check_costs(&costs)?;
        self.store().set_costs(&costs, now_secs()).map_err(storage)
    }

    /// Orders with the id `query`, or placed with the e-mail `query` (ASCII letters
    /// case-insensitively), newest first, at most [`MAX_SEARCH_RESULTS`] (admin).
    pub fn search_orders(&self, query: &str, bearer: Option<&str>) -> ApiResult<Vec<OrderView>> {
        self.require_admin(bearer)?;
        let query = query.trim();
        if query.is_empty() || query.len() > 254 {
            return Err(ApiError::field(
                "invalid_field",
                "q",
                "enter an e-mail address or an order id",
            ));
        }
        let ids = self
            .store()
            .search_order_ids(query, MAX_SEARCH_RESULTS)
            .map_err(storage)?;
        ids.iter().map(|id| self.order(id, bearer)).collect()
    }

    /// Every offer id, sorted (admin).
    pub fn offer_ids(&self, bearer: Option<&str>) -> ApiResult<Vec<String>> {
        self.require_admin(bearer)?;
        self.store().offer_ids().map_err(storage)
    }

    /// `GET /v1/admin/orders.csv`: one row per line of the orders created in `range` (of
    /// `offer_id`, or of every offer), oldest first (admin).
    pub fn orders_csv(
        &self,
        offer_id: Option<&str>,
        range: DayRange,
        bearer: Option<&str>,
    ) -> ApiResult<String> {
        self.require_admin(bearer)?;
        if let Some(id) = offer_id {
            self.known_offer(id)?;
        }
        let from = i64::from(range.first().0) * 86_400;
        let until = (i64::from(range.last().0) + 1) * 86_400;
        let rows = self
            .store()
            .export_rows(offer_id, from, until, MAX_EXPORT_ROWS + 1)
            .map_err(storage)?;
        if rows.len() > MAX_EXPORT_ROWS {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "export_too_large",
                format!("more than {MAX_EXPORT_ROWS} order lines: export a shorter range"),
            ));
        }
        Ok(csv::orders_csv(&rows))
    }

    /// `GET /v1/admin/metrics.csv`: [`Self::metrics`] as one row per arm and metric (admin).
    pub fn metrics_csv(
        &self,
        offer_id: &str,
        range: DayRange,
        control: Arm,
        bearer: Option<&str>,
    ) -> ApiResult<String> {
        let report = self.metrics(offer_id, range, control, bearer)?;
        Ok(csv::metrics_csv(offer_id, &report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arms_are_named_one_way() {
        for arm in [
            Arm::Holdout,
            Arm::Base,
            Arm::Variant("a".into()),
            Arm::Variant("base".into()),
        ] {
            assert_eq!(parse_arm(&arm_label(&arm)), Some(arm.clone()));
        }
        assert_eq!(parse_arm("b"), Some(Arm::Variant("b".into())));
        assert_eq!(parse_arm("B"), None);
        assert_eq!(parse_arm("variant:"), None);
        assert_eq!(parse_arm(""), None);
    }

    #[test]
    fn costs_name_the_field_at_fault() {
        let ok = Costs {
            fee_basis_points: 290,
            fee_fixed_minor: 25,
            support_per_refund_minor: 500,
        };
        assert!(check_costs(&ok).is_ok());
        let e = check_costs(&Costs {
            fee_basis_points: 10_001,
            ..ok
        })
        .expect_err("over 100 %");
        assert_eq!(e.field.as_deref(), Some("fee_basis_points"));
        let e = check_costs(&Costs {
            support_per_refund_minor: -1,
            ..ok
        })
        .expect_err("negative");
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_amount", Some("support_per_refund_minor"))
        );
    }
}
