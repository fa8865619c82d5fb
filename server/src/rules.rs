//! The post-purchase funnel rules the server enforces: one upsell, one downsell, the downsell only
//! after the shopper declined the upsell, never both, nothing before the order is paid, and no
//! downsell on a card that just declined. Pure functions, evaluated by the store inside the
//! transaction that records the answer, so concurrent requests cannot both pass.

use momentum_core::api::{AddonKind, ChargeStatus, Next, OfferState};

/// Where one add-on slot of an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Not answered.
    Open,
    /// The shopper said no.
    Declined,
    /// Accepted; its charge is in this state.
    Charge(ChargeStatus),
}

/// What the rules need to know about an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Funnel {
    /// Status of the primary charge.
    pub primary: ChargeStatus,
    /// Whether the offer has an upsell.
    pub has_upsell: bool,
    /// Whether the offer has a downsell.
    pub has_downsell: bool,
    /// Upsell slot.
    pub upsell: Slot,
    /// Downsell slot.
    pub downsell: Slot,
}

/// Why an add-on answer is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The primary payment is not `paid`.
    OrderNotPaid,
    /// The offer has no such add-on.
    NotAvailable,
    /// Already charged: the caller answers `already_applied`.
    AlreadyApplied,
    /// The add-on's charge is still in flight or awaiting 3-D Secure.
    InProgress,
    /// Already answered (declined, failed, or the other add-on was taken).
    Closed,
    /// The downsell before the upsell was declined.
    Locked,
    /// Declining something already declined: harmless repeat.
    AlreadyDeclined,
}

impl Funnel {
    fn slot(&self, kind: AddonKind) -> Slot {
        match kind {
            AddonKind::Upsell => self.upsell,
            AddonKind::Downsell => self.downsell,
        }
    }

    fn has(&self, kind: AddonKind) -> bool {
        match kind {
            AddonKind::Upsell => self.has_upsell,
            AddonKind::Downsell => self.has_downsell,
        }
    }

    fn common(&self, kind: AddonKind) -> Result<(), Refusal> {
        if self.primary != ChargeStatus::Succeeded {
            return Err(Refusal::OrderNotPaid);
        }
        if !self.has(kind) {
            return Err(Refusal::NotAvailable);
        }
        Ok(())
    }

    fn downsell_reachable(&self) -> Result<(), Refusal> {
        match self.upsell {
            Slot::Declined => Ok(()),
            Slot::Open => Err(Refusal::Locked),
            Slot::Charge(_) => Err(Refusal::Closed),
        }
    }

    /// May the shopper accept `kind` now?
    pub fn can_accept(&self, kind: AddonKind) -> Result<(), Refusal> {
        self.common(kind)?;
        match self.slot(kind) {
            Slot::Charge(ChargeStatus::Succeeded) => return Err(Refusal::AlreadyApplied),
            Slot::Charge(ChargeStatus::Declined) | Slot::Declined => return Err(Refusal::Closed),
            Slot::Charge(_) => return Err(Refusal::InProgress),
            Slot::Open => {}
        }
        if kind == AddonKind::Downsell {
            self.downsell_reachable()?;
        }
        Ok(())
    }

    /// May the shopper decline `kind` now?
    pub fn can_decline(&self, kind: AddonKind) -> Result<(), Refusal> {
        self.common(kind)?;
        match self.slot(kind) {
            Slot::Declined => return Err(Refusal::AlreadyDeclined),
            Slot::Charge(_) => return Err(Refusal::Closed),
            Slot::Open => {}
        }
        if kind == AddonKind::Downsell {
            self.downsell_reachable()?;
        }
        Ok(())
    }

    /// What the widget shows after the shopper declined `kind`.
    pub fn next_after_decline(&self, kind: AddonKind) -> Next {
        match kind {
            AddonKind::Upsell if self.has_downsell => Next::Downsell,
            _ => Next::Receipt,
        }
    }

    /// State of `kind` for the receipt.
    pub fn state(&self, kind: AddonKind) -> OfferState {
        if !self.has(kind) {
            return OfferState::NotAvailable;
        }
        match self.slot(kind) {
            Slot::Declined => OfferState::Declined,
            Slot::Charge(ChargeStatus::Succeeded) => OfferState::Accepted,
            Slot::Charge(ChargeStatus::Declined) => OfferState::Failed,
            Slot::Charge(_) => OfferState::Pending,
            Slot::Open => {
                if self.primary != ChargeStatus::Succeeded {
                    OfferState::Locked
                } else {
                    match (kind, self.downsell_reachable()) {
                        (AddonKind::Upsell, _) | (AddonKind::Downsell, Ok(())) => OfferState::Open,
                        (AddonKind::Downsell, Err(Refusal::Locked)) => OfferState::Locked,
                        (AddonKind::Downsell, Err(_)) => OfferState::Closed,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paid() -> Funnel {
        Funnel {
            primary: ChargeStatus::Succeeded,
            has_upsell: true,
            has_downsell: true,
            upsell: Slot::Open,
            downsell: Slot::Open,
        }
    }

    #[test]
    fn rules() {
        let f = paid();
        assert_eq!(f.can_accept(AddonKind::Upsell), Ok(()));
        assert_eq!(f.can_accept(AddonKind::Downsell), Err(Refusal::Locked));
        let unpaid = Funnel {
            primary: ChargeStatus::Processing,
            ..f
        };
        assert_eq!(
            unpaid.can_accept(AddonKind::Upsell),
            Err(Refusal::OrderNotPaid)
        );
        let declined = Funnel {
            upsell: Slot::Declined,
            ..f
        };
        assert_eq!(declined.can_accept(AddonKind::Downsell), Ok(()));
        assert_eq!(declined.can_accept(AddonKind::Upsell), Err(Refusal::Closed));
        assert_eq!(
            declined.next_after_decline(AddonKind::Upsell),
            Next::Downsell
        );
        let card_declined = Funnel {
            upsell: Slot::Charge(ChargeStatus::Declined),
            ..f
        };
        assert_eq!(
            card_declined.can_accept(AddonKind::Downsell),
            Err(Refusal::Closed)
        );
        assert_eq!(card_declined.state(AddonKind::Downsell), OfferState::Closed);
        let taken = Funnel {
            upsell: Slot::Charge(ChargeStatus::Succeeded),
            ..f
        };
        assert_eq!(
            taken.can_accept(AddonKind::Upsell),
            Err(Refusal::AlreadyApplied)
        );
        assert_eq!(taken.can_accept(AddonKind::Downsell), Err(Refusal::Closed));
        assert_eq!(taken.can_decline(AddonKind::Downsell), Err(Refusal::Closed));
        let pending = Funnel {
            upsell: Slot::Charge(ChargeStatus::RequiresAction),
            ..f
        };
        assert_eq!(
            pending.can_accept(AddonKind::Upsell),
            Err(Refusal::InProgress)
        );
        let no_down = Funnel {
            has_downsell: false,
            ..declined
        };
        assert_eq!(
            no_down.can_accept(AddonKind::Downsell),
            Err(Refusal::NotAvailable)
        );
        assert_eq!(no_down.next_after_decline(AddonKind::Upsell), Next::Receipt);
        assert_eq!(
            declined.can_decline(AddonKind::Upsell),
            Err(Refusal::AlreadyDeclined)
        );
    }
}
