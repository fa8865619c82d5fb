//! Persistence of the insights (issue 13), behind a trait like the rest of the storage
//! ([`crate::store::Store`] requires it). Every method is one transaction.
//!
//! The metrics read **cells**, kept up to date as the data is written, never the raw rows:
//!
//! - an **order cell** counts the paid orders of one offer, currency, arm and UTC day that have the
//!   same money shape (exit discount, what each line was paid, what each succeeded charge took, what
//!   was refunded per line). Creator costs are applied when the report is computed, so changing them
//!   needs no rewrite, and a day's orders collapse into a handful of shapes;
//! - a **visit cell** counts the visits of one offer, currency, arm and UTC day that reached the same
//!   set of funnel steps with the same final bump state.
//!
//! So a 90-day report reads a few thousand rows whatever the traffic (see `benches/metrics.rs`).

use momentum_core::metrics::{ByLine, Costs, Step, StepSet};

use crate::store::StoreResult;

/// The stable storage code of each funnel step: its index here. Codes are stored (in `events.step`
/// and as bits of `visits.steps`), so a new step is appended, never inserted.
pub const STEP_CODES: [Step; 16] = [
    Step::CheckoutViewed,
    Step::CheckoutInitiated,
    Step::BumpToggled,
    Step::Paid,
    Step::UpsellOffered,
    Step::UpsellAccepted,
    Step::UpsellDeclined,
    Step::UpsellFailed,
    Step::DownsellOffered,
    Step::DownsellAccepted,
    Step::DownsellDeclined,
    Step::DownsellFailed,
    Step::ExitOfferShown,
    Step::ExitOfferAccepted,
    Step::ExitOfferDeclined,
    Step::ReceiptShown,
];

/// The storage code of `step`.
pub fn step_code(step: Step) -> u32 {
    STEP_CODES
        .iter()
        .position(|s| *s == step)
        .map_or(u32::MAX, |i| i as u32)
}

/// The step stored as `code`.
pub fn step_of_code(code: i64) -> Option<Step> {
    usize::try_from(code)
        .ok()
        .and_then(|i| STEP_CODES.get(i))
        .copied()
}

/// `steps` as a bit mask of storage codes.
pub fn steps_mask(steps: StepSet) -> i64 {
    steps
        .iter()
        .fold(0, |mask, step| mask | (1_i64 << step_code(step)))
}

/// The steps of a stored bit mask (with the steps they imply).
pub fn mask_steps(mask: i64) -> StepSet {
    STEP_CODES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1_i64 << i) != 0)
        .map(|(_, step)| *step)
        .collect()
}

/// Which visit a batch of events belongs to. A visit is one `visit_id` for one offer, arm and
/// currency: the widget keeps one id per tab, shared by the widgets on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitKey<'a> {
    /// The widget's anonymous id (32 lowercase hex digits).
    pub visit_id: &'a str,
    /// Offer.
    pub offer_id: &'a str,
    /// Variant (`None`: the base offer).
    pub variant: Option<&'a str>,
    /// In the offer's holdout.
    pub holdout: bool,
    /// ISO 4217.
    pub currency: &'a str,
}

/// One visit's state: its day (the server's, when it first heard of the visit), and what its
/// events add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitState {
    /// UTC day (days since 1970-01-01).
    pub day: i64,
    /// Steps reached, as a bit mask of [`STEP_CODES`].
    pub steps: i64,
    /// The widget's time of the latest bump toggle.
    pub bump_at: Option<i64>,
    /// The bump's state after it.
    pub bump_checked: bool,
}

impl VisitState {
    /// A visit first heard of on `day`, with no events yet.
    pub fn new(day: i64) -> VisitState {
        VisitState {
            day,
            steps: 0,
            bump_at: None,
            bump_checked: false,
        }
    }

    /// Folds one event. The result does not depend on the order events come in: steps are a
    /// union, and the bump state is that of the latest toggle by the widget's clock (two toggles
    /// of one visit never share a time: the events' key).
    pub fn fold(&mut self, step: Step, at: i64, checked: Option<bool>) {
        let mut set = mask_steps(self.steps);
        set.insert(step);
        self.steps = steps_mask(set);
        if step == Step::BumpToggled && self.bump_at.is_none_or(|last| at > last) {
            self.bump_at = Some(at);
            self.bump_checked = checked.unwrap_or(false);
        }
    }
}

/// One funnel event to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEvent {
    /// The step.
    pub step: Step,
    /// When, in milliseconds since the Unix epoch (the widget's clock).
    pub at_ms: i64,
    /// The bump's state after a `bump_toggled`.
    pub checked: Option<bool>,
}

/// What recording a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Events stored now.
    pub inserted: usize,
    /// Events already stored (same visit, step and time: a batch sent twice).
    pub duplicates: usize,
}

/// Paid orders of one offer, currency, arm and day with the same money shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCell {
    /// ISO 4217.
    pub currency: String,
    /// Variant (`None`: the base offer).
    pub variant: Option<String>,
    /// Placed from the holdout.
    pub holdout: bool,
    /// UTC day of the order (days since 1970-01-01).
    pub day: i32,
    /// Priced with the exit discount.
    pub exit_offer: bool,
    /// What each paid line collected (with VAT when it is added on top); `None`: no such paid line.
    pub paid: ByLine<Option<i64>>,
    /// The amount of each succeeded charge (primary, then upsell and downsell when they succeeded).
    pub charges: Vec<i64>,
    /// Refunded per line (0: none).
    pub refunded: ByLine<i64>,
    /// How many orders have this shape.
    pub orders: u64,
}

/// Visits of one offer, currency, arm and day that reached the same steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitCell {
    /// ISO 4217.
    pub currency: String,
    /// Variant (`None`: the base offer).
    pub variant: Option<String>,
    /// In the holdout.
    pub holdout: bool,
    /// UTC day of the visit's first event.
    pub day: i32,
    /// Steps reached (with the steps they imply).
    pub steps: StepSet,
    /// The bump was ticked after the visit's last toggle.
    pub bump_checked: bool,
    /// How many visits.
    pub visits: u64,
}

/// One line of one order, with its charge and refund, for the CSV export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// Order id.
    pub order_id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Offer.
    pub offer_id: String,
    /// Variant.
    pub variant: Option<String>,
    /// Holdout order.
    pub holdout: bool,
    /// Exit discount.
    pub exit_offer: bool,
    /// Status of the primary charge (`succeeded`, `declined`, …).
    pub primary_status: String,
    /// Buyer e-mail.
    pub email: String,
    /// Buyer country.
    pub country: String,
    /// ISO 4217.
    pub currency: String,
    /// `inclusive` or `exclusive`.
    pub tax_mode: String,
    /// Line id (= kind).
    pub line_id: String,
    /// Line label.
    pub label: String,
    /// Line amount as displayed.
    pub amount: i64,
    /// Tax carried by the line.
    pub tax_amount: i64,
    /// The line's charge.
    pub charge_id: String,
    /// `primary`, `upsell`, `downsell`.
    pub charge_kind: String,
    /// The charge's status.
    pub charge_status: String,
    /// What the charge took (all its lines).
    pub charge_amount: i64,
    /// The line's completed refund, if any: id, amount, unix seconds.
    pub refund: Option<(String, i64, i64)>,
}

/// Storage of funnel events, creator costs and the reads behind metrics and exports.
pub trait InsightsStore {
    /// Records a batch of one visit's events (a stored event, same step and time, is skipped) and
    /// updates the visit and its cell.
    fn record_events(
        &self,
        visit: &VisitKey<'_>,
        events: &[NewEvent],
        now: i64,
    ) -> StoreResult<Recorded>;
    /// The order and visit cells of `offer_id` for UTC days `first_day..=last_day`.
    fn insight_cells(
        &self,
        offer_id: &str,
        first_day: i32,
        last_day: i32,
    ) -> StoreResult<(Vec<OrderCell>, Vec<VisitCell>)>;
    /// The creator's costs (all zero until set).
    fn costs(&self) -> StoreResult<Costs>;
    /// Replaces the creator's costs.
    fn set_costs(&self, costs: &Costs, now: i64) -> StoreResult<()>;
    /// Ids of the orders with this id, or placed with this e-mail (ASCII case-insensitively),
    /// newest first, at most `limit`.
    fn search_order_ids(&self, query: &str, limit: usize) -> StoreResult<Vec<String>>;
    /// Every offer id, sorted.
    fn offer_ids(&self) -> StoreResult<Vec<String>>;
    /// Every line of the orders created in `from_secs..until_secs` (of `offer_id`, or all), oldest
    /// order first; at most `limit` rows (a longer answer is cut at `limit`).
    fn export_rows(
        &self,
        offer_id: Option<&str>,
        from_secs: i64,
        until_secs: i64,
        limit: usize,
    ) -> StoreResult<Vec<ExportRow>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_one_stable_code() {
        for (i, step) in STEP_CODES.iter().enumerate() {
            assert_eq!(step_code(*step), i as u32);
            assert_eq!(step_of_code(i as i64), Some(*step));
        }
        for step in Step::ALL {
            assert!(step_code(step) < 16, "{step:?} has no code");
        }
        assert_eq!(step_of_code(16), None);
        assert_eq!(step_of_code(-1), None);
        // Codes are stored: these must never change.
        assert_eq!(step_code(Step::CheckoutViewed), 0);
        assert_eq!(step_code(Step::ReceiptShown), 15);
    }

    #[test]
    fn masks_round_trip_with_implied_steps() {
        let set = StepSet::default().with(Step::DownsellAccepted);
        let mask = steps_mask(set);
        assert_eq!(mask_steps(mask), set);
        assert!(mask_steps(mask).contains(Step::UpsellDeclined));
        assert!(mask_steps(mask).contains(Step::CheckoutViewed));
        assert_eq!(steps_mask(StepSet::default()), 0);
    }
}
