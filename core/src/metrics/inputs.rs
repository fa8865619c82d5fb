//! The inputs: orders with their lines, charges and refunds (and what each one nets), visits and
//! the funnel steps they reached, and the event rows visits are folded from.

use super::*;

/// One value per line kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByLine<T> {
    /// The product.
    pub product: T,
    /// The order bump.
    pub bump: T,
    /// The upsell.
    pub upsell: T,
    /// The downsell.
    pub downsell: T,
}

impl<T: Copy> ByLine<T> {
    /// The value for `kind`.
    pub fn get(&self, kind: LineKind) -> T {
        match kind {
            LineKind::Product => self.product,
            LineKind::Bump => self.bump,
            LineKind::Upsell => self.upsell,
            LineKind::Downsell => self.downsell,
        }
    }

    /// The value for `kind`, to change.
    pub fn get_mut(&mut self, kind: LineKind) -> &mut T {
        match kind {
            LineKind::Product => &mut self.product,
            LineKind::Bump => &mut self.bump,
            LineKind::Upsell => &mut self.upsell,
            LineKind::Downsell => &mut self.downsell,
        }
    }

    /// The values in line order.
    pub fn values(&self) -> [T; 4] {
        [self.product, self.bump, self.upsell, self.downsell]
    }

    pub(super) fn map<U>(&self, f: impl Fn(T) -> U) -> ByLine<U> {
        ByLine {
            product: f(self.product),
            bump: f(self.bump),
            upsell: f(self.upsell),
            downsell: f(self.downsell),
        }
    }
}

impl ByLine<i128> {
    pub(super) fn total(&self) -> Result<i128, MetricsError> {
        let mut total = 0_i128;
        for value in self.values() {
            total.accumulate(value)?;
        }
        Ok(total)
    }

    pub(super) fn accumulate(&mut self, other: &ByLine<i128>) -> Result<(), MetricsError> {
        self.product.accumulate(other.product)?;
        self.bump.accumulate(other.bump)?;
        self.upsell.accumulate(other.upsell)?;
        self.downsell.accumulate(other.downsell)
    }
}

/// A paid line of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// Which line.
    pub kind: LineKind,
    /// What the buyer paid for it, minor units (with VAT added on top when prices exclude it: what
    /// its charge collected for it).
    pub amount: i64,
}

/// A refund of (part of) one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refund {
    /// The line refunded.
    pub line: LineKind,
    /// Amount returned, minor units.
    pub amount: i64,
    /// When it was issued (not before the order; it counts on the order's day all the same).
    pub day: Day,
}

/// A paid order (its primary charge succeeded), as storage-independent input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Order id (named in errors).
    pub order_id: String,
    /// Offer id.
    pub offer: String,
    /// Arm of the visit that placed it.
    pub arm: Arm,
    /// Currency of every amount of the order.
    pub currency: Currency,
    /// The day it was placed: the day its lines, charges, refunds and costs count on.
    pub day: Day,
    /// Priced with the exit-offer discount.
    pub exit_discount: bool,
    /// Paid lines, at most one per kind, with a product line.
    pub lines: Vec<Line>,
    /// Amount of each succeeded charge (declined attempts left out); they add up to the lines.
    pub charges: Vec<i64>,
    /// Refunds issued so far.
    pub refunds: Vec<Refund>,
}

/// One order's money, checked: what [`Aggregates::add_order`] folds, and what a drill-down shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFigures {
    /// Which lines the order has.
    pub has_line: ByLine<bool>,
    /// Paid per line (0 for a line it does not have).
    pub gross: ByLine<i64>,
    /// Refunded per line.
    pub refunded: ByLine<i64>,
    /// Payment fees over its charges.
    pub fees: i64,
    /// Support cost of its refunds.
    pub support: i64,
    /// Number of succeeded charges.
    pub charges: u64,
    /// Number of refunds.
    pub refunds: u64,
}

impl OrderFigures {
    /// Paid over all lines.
    pub fn gross_total(&self) -> Result<i64, MetricsError> {
        sum_i64(self.gross.values())
    }

    /// Refunded over all lines.
    pub fn refunded_total(&self) -> Result<i64, MetricsError> {
        sum_i64(self.refunded.values())
    }

    /// Gross − refunded − fees − support.
    pub fn net(&self) -> Result<i64, MetricsError> {
        self.gross_total()?
            .checked_sub(self.refunded_total()?)
            .and_then(|n| n.checked_sub(self.fees))
            .and_then(|n| n.checked_sub(self.support))
            .ok_or(MetricsError::Overflow)
    }
}

fn sum_i64(values: impl IntoIterator<Item = i64>) -> Result<i64, MetricsError> {
    values.into_iter().try_fold(0_i64, |total, value| {
        total.checked_add(value).ok_or(MetricsError::Overflow)
    })
}

/// Checks `order` and works out its money with `costs` (fees per charge, support per refund).
pub fn order_figures(order: &Order, costs: &Costs) -> Result<OrderFigures, MetricsError> {
    let invalid = |problem| MetricsError::InvalidOrder {
        order_id: order.order_id.clone(),
        problem,
    };
    let mut paid = ByLine::<Option<i64>>::default();
    for line in &order.lines {
        if line.amount < 0 {
            return Err(invalid(OrderProblem::NegativeAmount));
        }
        let slot = paid.get_mut(line.kind);
        if slot.is_some() {
            return Err(invalid(OrderProblem::DuplicateLine(line.kind)));
        }
        *slot = Some(line.amount);
    }
    if paid.product.is_none() {
        return Err(invalid(OrderProblem::NoProductLine));
    }
    let gross = paid.map(|amount| amount.unwrap_or(0));

    let mut refunded = ByLine::<i64>::default();
    for refund in &order.refunds {
        if refund.amount <= 0 {
            return Err(invalid(OrderProblem::NonPositiveRefund));
        }
        if refund.day < order.day {
            return Err(invalid(OrderProblem::RefundBeforeOrder));
        }
        let Some(line_amount) = paid.get(refund.line) else {
            return Err(invalid(OrderProblem::RefundOfMissingLine(refund.line)));
        };
        let so_far = refunded.get_mut(refund.line);
        *so_far = so_far
            .checked_add(refund.amount)
            .ok_or(MetricsError::Overflow)?;
        if *so_far > line_amount {
            return Err(invalid(OrderProblem::RefundExceedsLine(refund.line)));
        }
    }

    if order.charges.is_empty() {
        return Err(invalid(OrderProblem::NoCharges));
    }
    if order.charges.iter().any(|amount| *amount < 0) {
        return Err(invalid(OrderProblem::NegativeAmount));
    }
    if sum_i64(order.charges.iter().copied())? != sum_i64(gross.values())? {
        return Err(invalid(OrderProblem::ChargesDoNotMatchLines));
    }
    let fees = order
        .charges
        .iter()
        .map(|amount| costs.charge_fee(*amount))
        .try_fold(0_i64, |total, fee| {
            total.checked_add(fee?).ok_or(MetricsError::Overflow)
        })?;
    let refund_count = i64::try_from(order.refunds.len()).map_err(|_| MetricsError::Overflow)?;
    let support = costs
        .support_per_refund_minor
        .checked_mul(refund_count)
        .ok_or(MetricsError::Overflow)?;
    Ok(OrderFigures {
        has_line: paid.map(|amount| amount.is_some()),
        gross,
        refunded,
        fees,
        support,
        charges: order.charges.len() as u64,
        refunds: order.refunds.len() as u64,
    })
}

/// A funnel step: one of the widget's events (`momentum:<name>`), or `checkout_viewed` for the
/// checkout being rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The checkout was rendered.
    CheckoutViewed,
    /// First interaction with the checkout.
    CheckoutInitiated,
    /// The order bump was ticked or unticked.
    BumpToggled,
    /// The primary payment was confirmed.
    Paid,
    /// The upsell card was shown.
    UpsellOffered,
    /// The upsell was charged.
    UpsellAccepted,
    /// "No thanks" to the upsell.
    UpsellDeclined,
    /// The upsell charge failed.
    UpsellFailed,
    /// The downsell card was shown.
    DownsellOffered,
    /// The downsell was charged.
    DownsellAccepted,
    /// "No thanks" to the downsell.
    DownsellDeclined,
    /// The downsell charge failed.
    DownsellFailed,
    /// The exit offer was shown.
    ExitOfferShown,
    /// The exit offer was taken (the cart re-priced with the discount).
    ExitOfferAccepted,
    /// "No thanks" to the exit offer.
    ExitOfferDeclined,
    /// The receipt was shown.
    ReceiptShown,
}

pub(super) const STEP_COUNT: usize = 16;

impl Step {
    /// Every step, in funnel order.
    pub const ALL: [Step; STEP_COUNT] = [
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

    /// The event name without the `momentum:` prefix (`"upsell_offered"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Step::CheckoutViewed => "checkout_viewed",
            Step::CheckoutInitiated => "checkout_initiated",
            Step::BumpToggled => "bump_toggled",
            Step::Paid => "paid",
            Step::UpsellOffered => "upsell_offered",
            Step::UpsellAccepted => "upsell_accepted",
            Step::UpsellDeclined => "upsell_declined",
            Step::UpsellFailed => "upsell_failed",
            Step::DownsellOffered => "downsell_offered",
            Step::DownsellAccepted => "downsell_accepted",
            Step::DownsellDeclined => "downsell_declined",
            Step::DownsellFailed => "downsell_failed",
            Step::ExitOfferShown => "exit_offer_shown",
            Step::ExitOfferAccepted => "exit_offer_accepted",
            Step::ExitOfferDeclined => "exit_offer_declined",
            Step::ReceiptShown => "receipt_shown",
        }
    }

    /// Inverse of [`Step::as_str`], with or without the `momentum:` prefix.
    pub fn parse(name: &str) -> Option<Step> {
        let name = name.strip_prefix("momentum:").unwrap_or(name);
        Step::ALL.into_iter().find(|step| step.as_str() == name)
    }

    /// The step this one cannot happen without (a declined upsell was offered; a downsell is
    /// offered only after the upsell was declined). Recording a step records its parents too, so
    /// a lost event never makes a funnel bar longer than the one before it.
    pub fn parent(self) -> Option<Step> {
        match self {
            Step::CheckoutViewed => None,
            Step::CheckoutInitiated | Step::ExitOfferShown => Some(Step::CheckoutViewed),
            Step::BumpToggled | Step::Paid => Some(Step::CheckoutInitiated),
            Step::UpsellOffered | Step::ReceiptShown => Some(Step::Paid),
            Step::UpsellAccepted | Step::UpsellDeclined | Step::UpsellFailed => {
                Some(Step::UpsellOffered)
            }
            Step::DownsellOffered => Some(Step::UpsellDeclined),
            Step::DownsellAccepted | Step::DownsellDeclined | Step::DownsellFailed => {
                Some(Step::DownsellOffered)
            }
            Step::ExitOfferAccepted | Step::ExitOfferDeclined => Some(Step::ExitOfferShown),
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// The steps a visit reached (each with the steps it implies, see [`Step::parent`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepSet(u32);

impl StepSet {
    /// Records `step` and the steps it implies.
    pub fn insert(&mut self, step: Step) {
        let mut next = Some(step);
        while let Some(step) = next {
            self.0 |= step.bit();
            next = step.parent();
        }
    }

    /// The set with `step` recorded.
    pub fn with(mut self, step: Step) -> StepSet {
        self.insert(step);
        self
    }

    /// Whether the visit reached `step`.
    pub fn contains(&self, step: Step) -> bool {
        self.0 & step.bit() != 0
    }

    /// The steps reached, in funnel order.
    pub fn iter(&self) -> impl Iterator<Item = Step> + '_ {
        Step::ALL.into_iter().filter(|step| self.contains(*step))
    }
}

impl FromIterator<Step> for StepSet {
    fn from_iter<I: IntoIterator<Item = Step>>(steps: I) -> StepSet {
        let mut set = StepSet::default();
        for step in steps {
            set.insert(step);
        }
        set
    }
}

/// One anonymous visit, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    /// Visit id (named in errors of the event-row path).
    pub visit_id: u64,
    /// Offer id.
    pub offer: String,
    /// Arm the visit was assigned to.
    pub arm: Arm,
    /// Currency the checkout showed.
    pub currency: Currency,
    /// The day the visit began.
    pub day: Day,
    /// Steps reached.
    pub steps: StepSet,
    /// The bump's state after the visit's last `bump_toggled` (it is never pre-ticked).
    pub bump_checked: bool,
}

/// A funnel event as the widget emits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelEvent {
    /// The checkout was rendered.
    CheckoutViewed,
    /// First interaction.
    CheckoutInitiated,
    /// The bump checkbox changed; `checked` is its new state.
    BumpToggled {
        /// State after the toggle.
        checked: bool,
    },
    /// Paid.
    Paid,
    /// Upsell shown.
    UpsellOffered,
    /// Upsell charged.
    UpsellAccepted,
    /// Upsell declined.
    UpsellDeclined,
    /// Upsell charge failed.
    UpsellFailed,
    /// Downsell shown.
    DownsellOffered,
    /// Downsell charged.
    DownsellAccepted,
    /// Downsell declined.
    DownsellDeclined,
    /// Downsell charge failed.
    DownsellFailed,
    /// Exit offer shown.
    ExitOfferShown,
    /// Exit offer taken.
    ExitOfferAccepted,
    /// Exit offer declined.
    ExitOfferDeclined,
    /// Receipt shown.
    ReceiptShown,
}

impl FunnelEvent {
    /// The funnel step the event marks.
    pub fn step(self) -> Step {
        match self {
            FunnelEvent::CheckoutViewed => Step::CheckoutViewed,
            FunnelEvent::CheckoutInitiated => Step::CheckoutInitiated,
            FunnelEvent::BumpToggled { .. } => Step::BumpToggled,
            FunnelEvent::Paid => Step::Paid,
            FunnelEvent::UpsellOffered => Step::UpsellOffered,
            FunnelEvent::UpsellAccepted => Step::UpsellAccepted,
            FunnelEvent::UpsellDeclined => Step::UpsellDeclined,
            FunnelEvent::UpsellFailed => Step::UpsellFailed,
            FunnelEvent::DownsellOffered => Step::DownsellOffered,
            FunnelEvent::DownsellAccepted => Step::DownsellAccepted,
            FunnelEvent::DownsellDeclined => Step::DownsellDeclined,
            FunnelEvent::DownsellFailed => Step::DownsellFailed,
            FunnelEvent::ExitOfferShown => Step::ExitOfferShown,
            FunnelEvent::ExitOfferAccepted => Step::ExitOfferAccepted,
            FunnelEvent::ExitOfferDeclined => Step::ExitOfferDeclined,
            FunnelEvent::ReceiptShown => Step::ReceiptShown,
        }
    }
}

/// One stored funnel event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    /// The visit it belongs to.
    pub visit_id: u64,
    /// Offer id.
    pub offer: String,
    /// Arm of the visit.
    pub arm: Arm,
    /// Currency the checkout showed.
    pub currency: Currency,
    /// Day of the event.
    pub day: Day,
    /// What happened.
    pub event: FunnelEvent,
}
