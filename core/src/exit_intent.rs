//! Exit-intent detector: decides, from timestamped browser signals, when a shopper who has not paid
//! is about to leave, so the widget can make one last offer.
//!
//! Pure and clock-free: the web layer forwards signals with their time (ms since page load) and
//! calls [`ExitIntent::tick`] when [`ExitIntent::next_deadline`] comes due (one `setTimeout`). The
//! detector stores nothing; what must survive the page (offer already shown this session, the time
//! of the last "No thanks") is passed in through [`Memory`].
//!
//! Triggers, by device class:
//! - **Desktop** ([`Trigger::PointerLeftTop`]): the pointer leaves through the top edge moving
//!   upward (towards the tabs, the address bar or the back button), after a minimum time on the
//!   page, and stays out for a short grace delay ([`Decision::Pending`] first, then the show from
//!   `tick`). A pointer that just came in from the top (when the page opened, or coming back
//!   into the page after leaving it) must go down into the page first: going back up is the
//!   pointer returning where it came from, not an exit.
//! - **Touch** ([`Trigger::FastScrollUp`], [`Trigger::ReturnedAfterHidden`],
//!   [`Trigger::IdleAfterEngagement`]): phones have no pointer to watch, so the signs are a fast
//!   flick back up after reading down the page (heading for the address bar), coming back after
//!   switching tab or app for a while (unless the switch was made mid-form, see [`FORM_TRIP_MS`]),
//!   and going idle after having started the checkout.
//!
//! Never while a payment or 3-D Secure is in flight (the banking app switch is part of paying),
//! never after the purchase, never while the page is hidden, at most once per session, and not
//! within [`Thresholds::cooldown_days`] of a "No thanks".
//!
//! It never needs `beforeunload`/`unload` (they break the back-forward cache and cannot show custom
//! content anyway) nor fake history entries to trap the back button: every trigger fires while the
//! shopper is still on the page, from ordinary pointer, scroll and visibility events.

/// Desktop: no trigger before the shopper has had the page visible this long (ms). Leaving within
/// five seconds is a bounce or a mis-click, not a considered exit; an offer then is noise.
pub const MIN_TIME_ON_PAGE_MS: u64 = 5_000;
/// Desktop: how long the pointer must stay out after leaving through the top (ms). Overshooting the
/// top while reaching for the site's own navigation comes back within ~100–250 ms; heading for the
/// tabs or the back button stays out longer.
pub const EXIT_GRACE_MS: u64 = 300;
/// Desktop: a leave counts as "through the top" when its `y` is at most this (CSS px). Browsers
/// report the last position, often 0 or negative; a fast pointer may report a few px inside.
pub const TOP_EDGE_PX: u32 = 10;
/// Desktop: minimum upward pointer speed when leaving (px/s). Aiming at the browser chrome crosses
/// the edge at well over 500 px/s; slower drifts are the pointer resting near the top of the page.
pub const MIN_EXIT_SPEED_PX_PER_S: u32 = 300;
/// Desktop: a pointer first seen within this time after load (ms) …
pub const ENTRY_WINDOW_MS: u64 = 2_000;
/// … and within this distance of the top (px) entered the page from the top; it must go further
/// down than this before a leave through the top counts. The band applies too whenever the pointer
/// comes back into the page after leaving it.
pub const ENTRY_BAND_PX: u32 = 80;
/// Touch: the shopper must have scrolled at least this far down (percent of the viewport height)
/// before a fast scroll up means anything: one screen read is "into the page".
pub const SCROLL_MIN_DEPTH_PCT: u32 = 100;
/// Touch: an upward run must cover at least this distance (percent of the viewport height). Address
/// bar show/hide and finger jitter move the page by tens of px, never half a screen.
pub const SCROLL_UP_MIN_DISTANCE_PCT: u32 = 50;
/// Touch: … at an average of at least this speed (px/s). Scrolling back to re-read a price is a slow
/// drag (well under 1000 px/s); heading for the top is a fling.
pub const SCROLL_UP_MIN_SPEED_PX_PER_S: u32 = 1_200;
/// Touch: a downward move of at most this (px) inside an upward run is jitter and does not end it.
pub const SCROLL_JITTER_PX: u32 = 20;
/// Touch: scroll events stop when the page stops; a gap longer than this (ms) ends a run.
pub const SCROLL_RUN_GAP_MS: u64 = 300;
/// Touch: documents shorter than this (percent of the viewport height) never trigger on scroll:
/// on a page barely taller than the screen, every scroll is back and forth across the whole of it.
pub const SHORT_PAGE_PCT: u32 = 150;
/// Touch: the page must have been hidden at least this long (ms) for the return to count. Shorter is
/// a notification glance or a slip of the thumb.
pub const HIDDEN_MIN_MS: u64 = 5_000;
/// Touch: no shopper activity for this long (ms) after they engaged with the checkout is idle.
pub const IDLE_MS: u64 = 30_000;
/// Touch: a page hidden within this long (ms) after the shopper last typed in or focused the
/// checkout was left mid-form: to copy an address, fetch a code from the mail app, look up a card.
/// Coming back from such a trip is the shopper resuming, not a sign of leaving, so it does not
/// trigger (idle after the return still can). The web layer also reports a checkout field that
/// still has focus when the page is hidden as an interaction at that moment, so `0` keeps just
/// that case.
pub const FORM_TRIP_MS: u64 = 10_000;
/// Days after a "No thanks" during which no exit offer is shown again.
pub const COOLDOWN_DAYS: u32 = 30;

const DAY_MS: u64 = 24 * 60 * 60 * 1_000;

/// The detector's thresholds. Defaults are the constants above; an offer may override any of them
/// (`exit_offer.detector` in the offer config; absent fields keep their default). Integer units keep
/// the config exact and comparable: ms, CSS px, px/s and percent of the viewport height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default, deny_unknown_fields))]
pub struct Thresholds {
    /// See [`MIN_TIME_ON_PAGE_MS`].
    pub min_time_on_page_ms: u64,
    /// See [`EXIT_GRACE_MS`].
    pub exit_grace_ms: u64,
    /// See [`TOP_EDGE_PX`].
    pub top_edge_px: u32,
    /// See [`MIN_EXIT_SPEED_PX_PER_S`].
    pub min_exit_speed_px_per_s: u32,
    /// See [`ENTRY_WINDOW_MS`].
    pub entry_window_ms: u64,
    /// See [`ENTRY_BAND_PX`].
    pub entry_band_px: u32,
    /// See [`SCROLL_MIN_DEPTH_PCT`].
    pub scroll_min_depth_pct: u32,
    /// See [`SCROLL_UP_MIN_DISTANCE_PCT`].
    pub scroll_up_min_distance_pct: u32,
    /// See [`SCROLL_UP_MIN_SPEED_PX_PER_S`].
    pub scroll_up_min_speed_px_per_s: u32,
    /// See [`SCROLL_JITTER_PX`].
    pub scroll_jitter_px: u32,
    /// See [`SCROLL_RUN_GAP_MS`].
    pub scroll_run_gap_ms: u64,
    /// See [`SHORT_PAGE_PCT`].
    pub short_page_pct: u32,
    /// See [`HIDDEN_MIN_MS`].
    pub hidden_min_ms: u64,
    /// See [`IDLE_MS`].
    pub idle_ms: u64,
    /// See [`FORM_TRIP_MS`].
    pub form_trip_ms: u64,
    /// See [`COOLDOWN_DAYS`].
    pub cooldown_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_time_on_page_ms: MIN_TIME_ON_PAGE_MS,
            exit_grace_ms: EXIT_GRACE_MS,
            top_edge_px: TOP_EDGE_PX,
            min_exit_speed_px_per_s: MIN_EXIT_SPEED_PX_PER_S,
            entry_window_ms: ENTRY_WINDOW_MS,
            entry_band_px: ENTRY_BAND_PX,
            scroll_min_depth_pct: SCROLL_MIN_DEPTH_PCT,
            scroll_up_min_distance_pct: SCROLL_UP_MIN_DISTANCE_PCT,
            scroll_up_min_speed_px_per_s: SCROLL_UP_MIN_SPEED_PX_PER_S,
            scroll_jitter_px: SCROLL_JITTER_PX,
            scroll_run_gap_ms: SCROLL_RUN_GAP_MS,
            short_page_pct: SHORT_PAGE_PCT,
            hidden_min_ms: HIDDEN_MIN_MS,
            idle_ms: IDLE_MS,
            form_trip_ms: FORM_TRIP_MS,
            cooldown_days: COOLDOWN_DAYS,
        }
    }
}

impl Thresholds {
    /// Problems with creator-supplied thresholds, as `(field, message)`. Bounds keep a typo from
    /// turning the detector into one that fires on every page or never.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        const HOUR_MS: u64 = 3_600_000;
        let mut out = Vec::new();
        let ms = [
            ("min_time_on_page_ms", self.min_time_on_page_ms),
            ("exit_grace_ms", self.exit_grace_ms),
            ("entry_window_ms", self.entry_window_ms),
            ("scroll_run_gap_ms", self.scroll_run_gap_ms),
            ("hidden_min_ms", self.hidden_min_ms),
            ("form_trip_ms", self.form_trip_ms),
        ];
        for (field, v) in ms {
            if v > HOUR_MS {
                out.push((field, "must be at most 3600000 ms (one hour)"));
            }
        }
        if !(1_000..=HOUR_MS).contains(&self.idle_ms) {
            out.push(("idle_ms", "must be between 1000 and 3600000 ms"));
        }
        let speeds = [
            ("min_exit_speed_px_per_s", self.min_exit_speed_px_per_s),
            (
                "scroll_up_min_speed_px_per_s",
                self.scroll_up_min_speed_px_per_s,
            ),
        ];
        for (field, v) in speeds {
            if !(1..=100_000).contains(&v) {
                out.push((field, "must be between 1 and 100000 px/s"));
            }
        }
        let px = [
            ("top_edge_px", self.top_edge_px),
            ("entry_band_px", self.entry_band_px),
            ("scroll_jitter_px", self.scroll_jitter_px),
        ];
        for (field, v) in px {
            if v > 1_000 {
                out.push((field, "must be at most 1000 px"));
            }
        }
        let pct = [
            ("scroll_min_depth_pct", self.scroll_min_depth_pct),
            (
                "scroll_up_min_distance_pct",
                self.scroll_up_min_distance_pct,
            ),
        ];
        for (field, v) in pct {
            if !(1..=1_000).contains(&v) {
                out.push((field, "must be between 1 and 1000 % of the viewport"));
            }
        }
        if !(100..=1_000).contains(&self.short_page_pct) {
            out.push(("short_page_pct", "must be between 100 and 1000 %"));
        }
        if self.cooldown_days > 365 {
            out.push(("cooldown_days", "must be at most 365 days"));
        }
        out
    }
}

/// Which trigger set applies. The web layer decides (e.g. `matchMedia("(pointer: fine)")`): a mouse
/// can be watched leaving; a finger cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// Mouse or trackpad: the pointer-leaves-through-the-top trigger.
    Desktop,
    /// Phone or tablet: fast scroll up, return after hidden, idle after engagement.
    Touch,
}

/// What the web layer observed. Coordinates are CSS px relative to the viewport; velocities px/ms
/// with `y` growing downward (so moving up is a negative `vy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Signal {
    /// The pointer moved inside the document (`mousemove`).
    PointerMove {
        x: f64,
        y: f64,
        viewport_width: f64,
        viewport_height: f64,
    },
    /// The pointer left the document (`mouseout` with no `relatedTarget`), with its last position
    /// and velocity.
    PointerLeave { x: f64, y: f64, vx: f64, vy: f64 },
    /// The page scrolled (`scrollY`, `innerHeight`, `scrollHeight`).
    Scroll {
        y: f64,
        viewport_height: f64,
        document_height: f64,
    },
    /// `visibilitychange` to hidden (tab or app switch, screen off). Send it at start if the page
    /// loads hidden (a background tab).
    PageHidden,
    /// `visibilitychange` to visible.
    PageVisible,
    /// The shopper focused or typed in the checkout. Send it also just before [`Signal::PageHidden`]
    /// when a checkout field still has focus (see [`FORM_TRIP_MS`]).
    CheckoutInteraction,
    /// A payment (or its 3-D Secure step) started.
    PaymentStarted,
    /// The payment ended without a purchase (declined, failed, cancelled).
    PaymentFinished,
    /// The purchase is paid.
    Purchased,
    /// The exit offer was shown (by this detector's decision or restored on reload).
    ExitOfferShown,
    /// The shopper chose "No thanks". The caller stores `Date.now()` for the cooldown.
    ExitOfferDeclined,
}

/// Which signal made the detector decide; sent with `exit_intent_detected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Desktop: the pointer left through the top edge, moving up, and stayed out.
    PointerLeftTop,
    /// Touch: a fast scroll up after reading down the page.
    FastScrollUp,
    /// Touch: back after the page was hidden for a while.
    ReturnedAfterHidden,
    /// Touch: idle after engaging with the checkout.
    IdleAfterEngagement,
}

impl Trigger {
    /// Stable name for events.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::PointerLeftTop => "pointer_left_top",
            Trigger::FastScrollUp => "fast_scroll_up",
            Trigger::ReturnedAfterHidden => "returned_after_hidden",
            Trigger::IdleAfterEngagement => "idle_after_engagement",
        }
    }
}

/// The detector's answer to a signal or a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do.
    Nothing,
    /// A desktop exit is in its grace delay: call [`ExitIntent::tick`] at `show_at_ms`; it shows
    /// unless the pointer comes back first.
    Pending { show_at_ms: u64 },
    /// Show the exit offer now. Returned at most once.
    Show(Trigger),
}

/// Why the detector will never show the offer (any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// It decided to show it (or the widget reported it shown).
    Shown,
    /// The shopper said "No thanks" on this page.
    Declined,
    /// The shopper bought.
    Purchased,
    /// Already shown earlier in this session (e.g. before a reload).
    ShownThisSession,
    /// Within the cooldown after an earlier "No thanks".
    CoolingDown,
}

/// What the caller remembers across pages (nothing personal: a flag and a timestamp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    /// The exit offer was already shown in this browser session (`sessionStorage`).
    pub shown_this_session: bool,
    /// When the shopper last chose "No thanks", ms since the Unix epoch (`localStorage`).
    pub last_declined_at_ms: Option<u64>,
}

/// `true` while a "No thanks" at `last_declined_at_ms` still holds at `now_epoch_ms`. A timestamp
/// in the future (the clock moved back) counts as just declined: when in doubt, stay quiet.
pub fn in_cooldown(
    last_declined_at_ms: Option<u64>,
    now_epoch_ms: u64,
    cooldown_days: u32,
) -> bool {
    last_declined_at_ms.is_some_and(|at| {
        now_epoch_ms.saturating_sub(at) < u64::from(cooldown_days).saturating_mul(DAY_MS)
    })
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    show_at: u64,
    trigger: Trigger,
}

/// An upward scroll run: where and when it started, and the highest point (smallest `y`) reached.
#[derive(Debug, Clone, Copy)]
struct Run {
    t0: u64,
    y0: f64,
    top: f64,
}

/// The exit-intent state machine for one page view. Feed it with [`ExitIntent::observe`] and
/// [`ExitIntent::tick`]; times are ms since page load and may not go backwards (earlier times are
/// treated as the latest time seen).
#[derive(Debug, Clone)]
pub struct ExitIntent {
    device: Device,
    t: Thresholds,
    closed: Option<Closed>,
    now: u64,
    payment_in_flight: bool,
    /// Visible time accumulated before `visible_since`.
    visible_ms: u64,
    visible_since: Option<u64>,
    hidden_since: Option<u64>,
    hidden_during_payment: bool,
    /// The page was hidden mid-form (see [`FORM_TRIP_MS`]).
    hidden_while_filling: bool,
    /// Visible time on page when the page was last hidden.
    visible_ms_at_hide: u64,
    // Desktop.
    pointer_seen: bool,
    /// The pointer has left the page and not moved inside it since.
    pointer_outside: bool,
    /// The pointer came in through the top (at load, or back from outside) and has stayed in the
    /// top band since: going back up is returning where it came from.
    entered_from_top: bool,
    viewport_width: Option<f64>,
    pending: Option<Pending>,
    // Touch.
    last_scroll: Option<(u64, f64)>,
    run: Option<Run>,
    max_scroll_y: f64,
    engaged: bool,
    last_activity: u64,
    /// When the shopper last focused or typed in the checkout.
    last_interaction: Option<u64>,
}

impl ExitIntent {
    /// A detector for a page that has just loaded (time 0, visible). `now_epoch_ms` is `Date.now()`,
    /// used only against `memory.last_declined_at_ms`.
    pub fn new(device: Device, thresholds: Thresholds, memory: Memory, now_epoch_ms: u64) -> Self {
        let closed = if memory.shown_this_session {
            Some(Closed::ShownThisSession)
        } else if in_cooldown(
            memory.last_declined_at_ms,
            now_epoch_ms,
            thresholds.cooldown_days,
        ) {
            Some(Closed::CoolingDown)
        } else {
            None
        };
        ExitIntent {
            device,
            t: thresholds,
            closed,
            now: 0,
            payment_in_flight: false,
            visible_ms: 0,
            visible_since: Some(0),
            hidden_since: None,
            hidden_during_payment: false,
            hidden_while_filling: false,
            visible_ms_at_hide: 0,
            pointer_seen: false,
            pointer_outside: false,
            entered_from_top: false,
            viewport_width: None,
            pending: None,
            last_scroll: None,
            run: None,
            max_scroll_y: 0.0,
            engaged: false,
            last_activity: 0,
            last_interaction: None,
        }
    }

    /// Why it will not show the offer any more, if so.
    pub fn closed(&self) -> Option<Closed> {
        self.closed
    }

    /// When to call [`ExitIntent::tick`] next (ms since load), if anything is waiting on time.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.blocked() {
            return None;
        }
        if let Some(p) = self.pending {
            return Some(p.show_at);
        }
        self.idle_deadline()
    }

    /// Lets time pass: fires a pending desktop exit whose grace delay is over, or the idle trigger.
    pub fn tick(&mut self, now_ms: u64) -> Decision {
        let now = self.advance(now_ms);
        if self.blocked() {
            return Decision::Nothing;
        }
        if let Some(p) = self.pending {
            return if now >= p.show_at {
                self.fire(p.trigger)
            } else {
                Decision::Pending {
                    show_at_ms: p.show_at,
                }
            };
        }
        match self.idle_deadline() {
            Some(at) if now >= at && self.armed(now) => self.fire(Trigger::IdleAfterEngagement),
            _ => Decision::Nothing,
        }
    }

    /// Takes one signal observed at `now_ms` (ms since page load).
    pub fn observe(&mut self, now_ms: u64, signal: Signal) -> Decision {
        let now = self.advance(now_ms);
        match signal {
            Signal::Purchased => self.close(Closed::Purchased),
            Signal::ExitOfferShown => self.close(Closed::Shown),
            Signal::ExitOfferDeclined => self.close(Closed::Declined),
            Signal::PaymentStarted => {
                self.payment_in_flight = true;
                self.pending = None;
                if self.hidden_since.is_some() {
                    self.hidden_during_payment = true;
                }
                Decision::Nothing
            }
            Signal::PaymentFinished => {
                self.payment_in_flight = false;
                self.last_activity = now;
                Decision::Nothing
            }
            Signal::PageHidden => {
                self.hide(now);
                Decision::Nothing
            }
            Signal::PageVisible => self.show_page(now),
            Signal::CheckoutInteraction => {
                self.engaged = true;
                self.last_activity = now;
                self.last_interaction = Some(now);
                Decision::Nothing
            }
            Signal::PointerMove {
                x,
                y,
                viewport_width,
                viewport_height,
            } => {
                if ![x, y, viewport_width, viewport_height]
                    .iter()
                    .all(|v| v.is_finite())
                {
                    return Decision::Nothing;
                }
                self.last_activity = now;
                self.pointer_moved(now, y, viewport_width)
            }
            Signal::PointerLeave { x, y, vx, vy } => {
                if ![x, y, vx, vy].iter().all(|v| v.is_finite()) {
                    return Decision::Nothing;
                }
                self.pointer_left(now, x, y, vy)
            }
            Signal::Scroll {
                y,
                viewport_height,
                document_height,
            } => {
                if ![y, viewport_height, document_height]
                    .iter()
                    .all(|v| v.is_finite())
                    || viewport_height <= 0.0
                {
                    return Decision::Nothing;
                }
                self.last_activity = now;
                if self.scrolled(now, y, viewport_height, document_height)
                    && self.device == Device::Touch
                    && !self.blocked()
                    && self.armed(now)
                {
                    self.fire(Trigger::FastScrollUp)
                } else {
                    Decision::Nothing
                }
            }
        }
    }

    fn advance(&mut self, now_ms: u64) -> u64 {
        self.now = self.now.max(now_ms);
        self.now
    }

    fn close(&mut self, why: Closed) -> Decision {
        self.closed.get_or_insert(why);
        self.pending = None;
        Decision::Nothing
    }

    fn fire(&mut self, trigger: Trigger) -> Decision {
        self.closed = Some(Closed::Shown);
        self.pending = None;
        Decision::Show(trigger)
    }

    /// Nothing may be shown right now.
    fn blocked(&self) -> bool {
        self.closed.is_some() || self.payment_in_flight || self.hidden_since.is_some()
    }

    /// Visible time on the page so far.
    fn time_on_page(&self, now: u64) -> u64 {
        self.visible_ms + self.visible_since.map_or(0, |s| now.saturating_sub(s))
    }

    /// Enough time on the page for any trigger.
    fn armed(&self, now: u64) -> bool {
        self.time_on_page(now) >= self.t.min_time_on_page_ms
    }

    fn idle_deadline(&self) -> Option<u64> {
        (self.device == Device::Touch && self.engaged)
            .then(|| self.last_activity.saturating_add(self.t.idle_ms))
    }

    fn hide(&mut self, now: u64) {
        if self.hidden_since.is_some() {
            return;
        }
        self.visible_ms = self.time_on_page(now);
        self.visible_ms_at_hide = self.visible_ms;
        self.visible_since = None;
        self.hidden_since = Some(now);
        self.hidden_during_payment = self.payment_in_flight;
        self.hidden_while_filling = self
            .last_interaction
            .is_some_and(|at| now.saturating_sub(at) <= self.t.form_trip_ms);
    }

    fn show_page(&mut self, now: u64) -> Decision {
        let Some(since) = self.hidden_since.take() else {
            return Decision::Nothing;
        };
        self.visible_since = Some(now);
        self.last_activity = now;
        // Scroll positions from before the switch say nothing about the next scroll event.
        self.last_scroll = None;
        self.run = None;
        let during_payment = std::mem::take(&mut self.hidden_during_payment);
        let form_trip = std::mem::take(&mut self.hidden_while_filling);
        if self.blocked() {
            return Decision::Nothing;
        }
        if let Some(p) = self.pending {
            // A desktop exit whose grace ran out while the page was hidden shows on return.
            return if now >= p.show_at {
                self.fire(p.trigger)
            } else {
                Decision::Pending {
                    show_at_ms: p.show_at,
                }
            };
        }
        let away = now.saturating_sub(since);
        if self.device == Device::Touch
            && !during_payment
            && !form_trip
            && away >= self.t.hidden_min_ms
            && self.visible_ms_at_hide >= self.t.min_time_on_page_ms
        {
            return self.fire(Trigger::ReturnedAfterHidden);
        }
        Decision::Nothing
    }

    fn pointer_moved(&mut self, now: u64, y: f64, viewport_width: f64) -> Decision {
        let band = f64::from(self.t.entry_band_px);
        if !self.pointer_seen {
            // At load only a pointer seen early came in; one first seen later may have rested there.
            self.pointer_seen = true;
            self.entered_from_top = now <= self.t.entry_window_ms && y <= band;
        } else if self.pointer_outside {
            // Back in from outside: through the top band it came from the tabs or address bar.
            self.entered_from_top = y <= band;
        }
        self.pointer_outside = false;
        if y > band {
            self.entered_from_top = false;
        }
        self.viewport_width = Some(viewport_width);
        match self.pending {
            // The timer is late: the grace delay was over before the pointer came back.
            Some(p) if now >= p.show_at && !self.blocked() => self.fire(p.trigger),
            // Back within the grace delay: a flick, not an exit.
            Some(_) => {
                self.pending = None;
                Decision::Nothing
            }
            None => Decision::Nothing,
        }
    }

    fn pointer_left(&mut self, now: u64, x: f64, y: f64, vy: f64) -> Decision {
        self.pointer_outside = true;
        let through_top = y <= f64::from(self.t.top_edge_px)
            && self.viewport_width.is_none_or(|w| (0.0..=w).contains(&x));
        let upward = -vy * 1_000.0 >= f64::from(self.t.min_exit_speed_px_per_s);
        let eligible = self.device == Device::Desktop
            && through_top
            && upward
            && self.pointer_seen
            && !self.entered_from_top
            && self.pending.is_none()
            && !self.blocked()
            && self.armed(now);
        if !eligible {
            return Decision::Nothing;
        }
        if self.t.exit_grace_ms == 0 {
            return self.fire(Trigger::PointerLeftTop);
        }
        let show_at = now.saturating_add(self.t.exit_grace_ms);
        self.pending = Some(Pending {
            show_at,
            trigger: Trigger::PointerLeftTop,
        });
        Decision::Pending {
            show_at_ms: show_at,
        }
    }

    /// Tracks scroll runs; `true` when this sample completes a fast upward run after the shopper
    /// scrolled into a page long enough to scroll.
    fn scrolled(&mut self, now: u64, y: f64, viewport: f64, document: f64) -> bool {
        let y = y.max(0.0); // iOS rubber-banding reports negative offsets at the top
        let prev = self.last_scroll.replace((now, y));
        let short = document * 100.0 < viewport * f64::from(self.t.short_page_pct);
        if short {
            self.run = None;
            return false;
        }
        let Some((pt, py)) = prev else {
            self.max_scroll_y = self.max_scroll_y.max(y);
            return false;
        };
        let continuous = now.saturating_sub(pt) <= self.t.scroll_run_gap_ms;
        let jitter = f64::from(self.t.scroll_jitter_px);
        self.run = match self.run {
            Some(r) if continuous && y <= r.top + jitter => Some(Run {
                top: r.top.min(y),
                ..r
            }),
            // A new upward run starts at the turning point, or here after a pause.
            _ if y < py && continuous => Some(Run {
                t0: pt,
                y0: py,
                top: y,
            }),
            _ if y < py => Some(Run {
                t0: now,
                y0: y,
                top: y,
            }),
            _ => None,
        };
        let deep = self.max_scroll_y * 100.0 >= viewport * f64::from(self.t.scroll_min_depth_pct);
        self.max_scroll_y = self.max_scroll_y.max(y);
        let Some(r) = self.run else {
            return false;
        };
        let distance = r.y0 - y;
        let elapsed_s = now.saturating_sub(r.t0).max(1) as f64 / 1_000.0;
        deep && distance * 100.0 >= viewport * f64::from(self.t.scroll_up_min_distance_pct)
            && distance / elapsed_s >= f64::from(self.t.scroll_up_min_speed_px_per_s)
    }
}

#[cfg(test)]
mod tests;
