//! Synthetic signal traces: true exits on desktop and phone, and the false positives.

use super::*;
use proptest::prelude::*;

const NOW_EPOCH: u64 = 1_760_000_000_000;
const VW: f64 = 1280.0;
const VH: f64 = 800.0;
const PHONE_VH: f64 = 700.0;
const LONG_DOC: f64 = 5_000.0;

fn desktop() -> ExitIntent {
    ExitIntent::new(
        Device::Desktop,
        Thresholds::default(),
        Memory::default(),
        NOW_EPOCH,
    )
}

fn phone() -> ExitIntent {
    ExitIntent::new(
        Device::Touch,
        Thresholds::default(),
        Memory::default(),
        NOW_EPOCH,
    )
}

fn mv(x: f64, y: f64) -> Signal {
    Signal::PointerMove {
        x,
        y,
        viewport_width: VW,
        viewport_height: VH,
    }
}

/// Leaves at `(x, y)` moving at `vy` px/ms (negative is up).
fn leave(x: f64, y: f64, vy: f64) -> Signal {
    Signal::PointerLeave { x, y, vx: 0.0, vy }
}

fn scroll(y: f64) -> Signal {
    Signal::Scroll {
        y,
        viewport_height: PHONE_VH,
        document_height: LONG_DOC,
    }
}

/// A shopper reading the page with the pointer around the middle, from `from` to `to` ms.
fn browse(d: &mut ExitIntent, from: u64, to: u64) {
    let mut t = from;
    while t <= to {
        let x = 400.0 + (t % 700) as f64 / 2.0;
        assert_eq!(
            d.observe(t, mv(x, 300.0 + (t % 300) as f64)),
            Decision::Nothing
        );
        t += 100;
    }
}

/// Moves the pointer up from y = 300 to the top over 150 ms and out, at `at` ms.
fn head_for_tabs(d: &mut ExitIntent, at: u64) -> Decision {
    for (i, y) in [250.0, 150.0, 60.0, 10.0].into_iter().enumerate() {
        d.observe(at - 150 + 50 * i as u64 - 50, mv(600.0, y));
    }
    d.observe(at, leave(600.0, -2.0, -2.0))
}

/// Reads down a long page to `depth` px, slowly, from `from` ms; returns the time after.
fn read_down(d: &mut ExitIntent, from: u64, depth: f64) -> u64 {
    let mut t = from;
    let mut y = 0.0;
    while y < depth {
        y += 40.0;
        assert_eq!(d.observe(t, scroll(y)), Decision::Nothing);
        t += 100; // 400 px/s: reading speed
    }
    t
}

/// A fling up of `distance` px at `speed` px/ms in 16 ms frames, from `y` at `from` ms; the first
/// decision that is not `Nothing`, if any.
fn fling_up(d: &mut ExitIntent, from: u64, y: f64, distance: f64, speed: f64) -> Decision {
    let mut t = from;
    let mut pos = y;
    while pos > y - distance {
        t += 16;
        pos = (pos - speed * 16.0).max(y - distance);
        let r = d.observe(t, scroll(pos));
        if r != Decision::Nothing {
            return r;
        }
    }
    Decision::Nothing
}

// ---- Desktop: true exits ----

#[test]
fn desktop_exit_through_the_top_shows_after_the_grace_delay() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    let r = head_for_tabs(&mut d, 8_300);
    assert_eq!(
        r,
        Decision::Pending {
            show_at_ms: 8_300 + EXIT_GRACE_MS
        }
    );
    assert_eq!(d.next_deadline(), Some(8_600));
    assert_eq!(d.tick(8_599), Decision::Pending { show_at_ms: 8_600 });
    assert_eq!(d.tick(8_600), Decision::Show(Trigger::PointerLeftTop));
    assert_eq!(d.closed(), Some(Closed::Shown));
    assert_eq!(d.next_deadline(), None);
}

#[test]
fn a_late_timer_still_shows_when_the_pointer_returns_after_the_grace() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    head_for_tabs(&mut d, 8_300);
    assert_eq!(
        d.observe(9_000, mv(600.0, 5.0)),
        Decision::Show(Trigger::PointerLeftTop)
    );
}

#[test]
fn a_grace_that_ends_while_hidden_shows_on_return() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    head_for_tabs(&mut d, 8_300);
    d.observe(8_450, Signal::PageHidden); // clicked another tab
    assert_eq!(d.tick(8_600), Decision::Nothing);
    assert_eq!(
        d.observe(60_000, Signal::PageVisible),
        Decision::Show(Trigger::PointerLeftTop)
    );
}

#[test]
fn the_grace_delay_can_be_zero() {
    let t = Thresholds {
        exit_grace_ms: 0,
        ..Thresholds::default()
    };
    let mut d = ExitIntent::new(Device::Desktop, t, Memory::default(), NOW_EPOCH);
    browse(&mut d, 500, 8_000);
    assert_eq!(
        head_for_tabs(&mut d, 8_300),
        Decision::Show(Trigger::PointerLeftTop)
    );
}

// ---- Desktop: false positives ----

#[test]
fn page_entry_from_the_top_does_not_fire() {
    let mut d = desktop();
    // The pointer comes in from the address bar, lingers over the site's header, and goes back up.
    for (i, y) in [3.0, 20.0, 45.0, 60.0, 40.0].into_iter().enumerate() {
        d.observe(300 + 200 * i as u64, mv(500.0, y));
    }
    for t in (2_000..7_000).step_by(250) {
        d.observe(t, mv(520.0, 50.0));
    }
    assert_eq!(
        d.observe(7_200, leave(520.0, -1.0, -1.5)),
        Decision::Nothing
    );
    assert_eq!(d.tick(8_000), Decision::Nothing);
    // Once the pointer has been into the page, the same exit counts.
    d.observe(8_000, mv(520.0, 400.0));
    assert!(matches!(
        head_for_tabs(&mut d, 9_000),
        Decision::Pending { .. }
    ));
}

#[test]
fn a_pointer_first_seen_near_the_top_later_on_is_not_an_entry() {
    let mut d = desktop();
    d.observe(4_000, mv(500.0, 30.0));
    d.observe(5_500, mv(500.0, 20.0));
    assert!(matches!(
        d.observe(6_000, leave(500.0, -1.0, -1.0)),
        Decision::Pending { .. }
    ));
}

#[test]
fn leaving_before_the_minimum_time_on_page_does_not_fire() {
    let mut d = desktop();
    browse(&mut d, 100, 3_000);
    assert_eq!(head_for_tabs(&mut d, 3_500), Decision::Nothing);
    assert_eq!(d.tick(5_000), Decision::Nothing);
}

#[test]
fn a_quick_flick_out_and_back_is_cancelled() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    assert!(matches!(
        head_for_tabs(&mut d, 8_300),
        Decision::Pending { .. }
    ));
    assert_eq!(d.observe(8_450, mv(610.0, 4.0)), Decision::Nothing);
    assert_eq!(d.next_deadline(), None);
    assert_eq!(d.tick(8_600), Decision::Nothing);
    assert_eq!(d.closed(), None);
    // A later, real exit still counts: the flick did not use up the session's one offer.
    browse(&mut d, 8_500, 20_000);
    assert!(matches!(
        head_for_tabs(&mut d, 20_300),
        Decision::Pending { .. }
    ));
    assert_eq!(d.tick(20_600), Decision::Show(Trigger::PointerLeftTop));
}

#[test]
fn slow_sideways_or_bottom_exits_do_not_fire() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    // Drifting out of the top slowly (0.1 px/ms = 100 px/s).
    assert_eq!(d.observe(8_100, leave(600.0, 0.0, -0.1)), Decision::Nothing);
    // Out through the right edge towards a second screen, moving up a little.
    d.observe(9_000, mv(1_270.0, 5.0));
    assert_eq!(
        d.observe(9_010, leave(1_290.0, 5.0, -0.5)),
        Decision::Nothing
    );
    // Out through the bottom.
    d.observe(10_000, mv(600.0, 790.0));
    assert_eq!(
        d.observe(10_010, leave(600.0, 805.0, 2.0)),
        Decision::Nothing
    );
    // Out through the top but moving down (e.g. a scrollbar drag that ended above).
    assert_eq!(
        d.observe(11_000, leave(600.0, -1.0, 1.0)),
        Decision::Nothing
    );
    assert_eq!(d.tick(12_000), Decision::Nothing);
}

#[test]
fn a_leave_without_a_pointer_ever_inside_does_not_fire() {
    let mut d = desktop();
    assert_eq!(
        d.observe(9_000, leave(600.0, -1.0, -3.0)),
        Decision::Nothing
    );
}

#[test]
fn touch_triggers_do_not_apply_on_desktop_and_vice_versa() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    d.observe(8_100, Signal::CheckoutInteraction);
    d.observe(9_000, Signal::PageHidden);
    assert_eq!(d.observe(30_000, Signal::PageVisible), Decision::Nothing);
    assert_eq!(d.tick(200_000), Decision::Nothing);
    let t = read_down(&mut d, 200_000, 2_000.0);
    assert_eq!(
        fling_up(&mut d, t, 2_000.0, 1_500.0, 3.0),
        Decision::Nothing
    );

    let mut p = phone();
    browse(&mut p, 500, 8_000);
    assert_eq!(head_for_tabs(&mut p, 8_300), Decision::Nothing);
    assert_eq!(p.tick(10_000), Decision::Nothing);
}

// ---- Phone: true exits ----

#[test]
fn phone_fast_scroll_up_after_reading_fires() {
    let mut d = phone();
    let t = read_down(&mut d, 1_000, 2_400.0);
    assert_eq!(
        fling_up(&mut d, t + 500, 2_400.0, 2_400.0, 3.0),
        Decision::Show(Trigger::FastScrollUp)
    );
}

#[test]
fn phone_return_after_a_tab_switch_fires() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(12_000, Signal::PageHidden);
    assert_eq!(d.next_deadline(), None);
    assert_eq!(
        d.observe(12_000 + HIDDEN_MIN_MS, Signal::PageVisible),
        Decision::Show(Trigger::ReturnedAfterHidden)
    );
}

#[test]
fn phone_idle_after_engaging_with_the_checkout_fires() {
    let mut d = phone();
    read_down(&mut d, 1_000, 800.0);
    d.observe(10_000, Signal::CheckoutInteraction);
    d.observe(14_000, Signal::CheckoutInteraction);
    assert_eq!(d.next_deadline(), Some(14_000 + IDLE_MS));
    assert_eq!(d.tick(14_000 + IDLE_MS - 1), Decision::Nothing);
    assert_eq!(
        d.tick(14_000 + IDLE_MS),
        Decision::Show(Trigger::IdleAfterEngagement)
    );
}

// ---- Phone: false positives ----

#[test]
fn idle_without_engagement_or_while_active_does_not_fire() {
    let mut d = phone();
    read_down(&mut d, 1_000, 800.0);
    assert_eq!(d.next_deadline(), None);
    assert_eq!(d.tick(200_000), Decision::Nothing);
    d.observe(200_000, Signal::CheckoutInteraction);
    for t in (200_000..300_000).step_by(10_000) {
        d.observe(t, Signal::CheckoutInteraction);
        assert_eq!(d.tick(t + 9_999), Decision::Nothing);
    }
}

#[test]
fn scroll_jitter_does_not_fire() {
    let mut d = phone();
    let mut t = read_down(&mut d, 1_000, 2_000.0);
    // Finger tremor and the address bar showing and hiding: small, fast reversals.
    for i in 0..300 {
        t += 16;
        let y = 2_000.0 - [0.0, 18.0, 35.0, 12.0, 56.0, 3.0][i % 6];
        assert_eq!(d.observe(t, scroll(y)), Decision::Nothing, "at {t}");
    }
}

#[test]
fn a_slow_scroll_back_to_re_read_does_not_fire() {
    let mut d = phone();
    let t = read_down(&mut d, 1_000, 3_000.0);
    assert_eq!(
        fling_up(&mut d, t, 3_000.0, 1_200.0, 0.6),
        Decision::Nothing
    );
}

#[test]
fn a_fast_scroll_up_near_the_top_of_the_page_does_not_fire() {
    let mut d = phone();
    let t = read_down(&mut d, 6_000, 500.0); // less than one screen
    assert_eq!(fling_up(&mut d, t, 500.0, 500.0, 3.0), Decision::Nothing);
}

#[test]
fn scrolling_up_on_a_short_page_does_not_fire() {
    let mut d = phone();
    let short = |y: f64| Signal::Scroll {
        y,
        viewport_height: PHONE_VH,
        document_height: PHONE_VH * 1.4,
    };
    let mut t = 6_000;
    for _ in 0..5 {
        for y in [0.0, 70.0, 140.0, 210.0, 280.0] {
            t += 16;
            assert_eq!(d.observe(t, short(y)), Decision::Nothing);
        }
        for y in [200.0, 100.0, 0.0] {
            t += 16;
            assert_eq!(d.observe(t, short(y)), Decision::Nothing);
        }
    }
}

#[test]
fn a_short_app_switch_does_not_fire() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(12_000, Signal::PageHidden);
    assert_eq!(d.observe(13_500, Signal::PageVisible), Decision::Nothing);
}

#[test]
fn a_page_opened_in_a_background_tab_does_not_fire_when_first_shown() {
    let mut d = phone();
    d.observe(0, Signal::PageHidden);
    assert_eq!(d.observe(60_000, Signal::PageVisible), Decision::Nothing);
    // Time on page counts from when it was first visible.
    let t = read_down(&mut d, 60_100, 1_000.0);
    assert!(t < 60_000 + MIN_TIME_ON_PAGE_MS);
    assert_eq!(
        fling_up(&mut d, t, 1_000.0, 1_000.0, 3.0),
        Decision::Nothing
    );
}

#[test]
fn a_tab_switch_during_payment_does_not_fire() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(15_000, Signal::CheckoutInteraction);
    d.observe(20_000, Signal::PaymentStarted);
    d.observe(21_000, Signal::PageHidden); // the banking app for 3-D Secure
    assert_eq!(d.observe(50_000, Signal::PageVisible), Decision::Nothing);
    assert_eq!(d.tick(200_000), Decision::Nothing);
    // The payment ends while hidden: the switch was still part of paying.
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(20_000, Signal::PaymentStarted);
    d.observe(21_000, Signal::PageHidden);
    d.observe(40_000, Signal::PaymentFinished);
    assert_eq!(d.observe(50_000, Signal::PageVisible), Decision::Nothing);
}

#[test]
fn a_trip_away_mid_form_does_not_fire_on_return() {
    // Typed the email, switched to the mail app to copy something, came back a minute later.
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(15_000, Signal::CheckoutInteraction);
    d.observe(15_000 + FORM_TRIP_MS, Signal::PageHidden);
    assert_eq!(d.observe(80_000, Signal::PageVisible), Decision::Nothing);
    // Still open: hesitating after the return is idle after engagement.
    assert_eq!(d.next_deadline(), Some(80_000 + IDLE_MS));
    assert_eq!(
        d.tick(80_000 + IDLE_MS),
        Decision::Show(Trigger::IdleAfterEngagement)
    );
}

#[test]
fn a_field_focused_when_hidden_is_a_form_trip_even_with_a_zero_window() {
    let t = Thresholds {
        form_trip_ms: 0,
        ..Thresholds::default()
    };
    let mut d = ExitIntent::new(Device::Touch, t, Memory::default(), NOW_EPOCH);
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(10_000, Signal::CheckoutInteraction);
    // The web layer saw a focused checkout field at `visibilitychange`: interaction, then hidden.
    d.observe(20_000, Signal::CheckoutInteraction);
    d.observe(20_000, Signal::PageHidden);
    assert_eq!(d.observe(40_000, Signal::PageVisible), Decision::Nothing);
    // Without the focused field, a typing pause of any length is not a form trip.
    let mut d = ExitIntent::new(Device::Touch, t, Memory::default(), NOW_EPOCH);
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(19_999, Signal::CheckoutInteraction);
    d.observe(20_000, Signal::PageHidden);
    assert_eq!(
        d.observe(40_000, Signal::PageVisible),
        Decision::Show(Trigger::ReturnedAfterHidden)
    );
}

#[test]
fn a_switch_long_after_the_last_keystroke_still_fires() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(15_000, Signal::CheckoutInteraction);
    read_down(&mut d, 16_000, 1_000.0);
    d.observe(15_001 + FORM_TRIP_MS, Signal::PageHidden);
    assert_eq!(
        d.observe(40_000, Signal::PageVisible),
        Decision::Show(Trigger::ReturnedAfterHidden)
    );
}

#[test]
fn only_the_switch_it_was_made_in_is_a_form_trip() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(15_000, Signal::CheckoutInteraction);
    d.observe(16_000, Signal::PageHidden);
    assert_eq!(d.observe(30_000, Signal::PageVisible), Decision::Nothing);
    // Later, no typing for a while, then away again: that return counts.
    d.observe(50_000, Signal::PageHidden);
    assert_eq!(
        d.observe(70_000, Signal::PageVisible),
        Decision::Show(Trigger::ReturnedAfterHidden)
    );
}

#[test]
fn payment_in_flight_blocks_every_trigger_and_cancels_a_pending_exit() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    head_for_tabs(&mut d, 8_300);
    d.observe(8_400, Signal::PaymentStarted);
    assert_eq!(d.tick(9_000), Decision::Nothing);
    assert_eq!(head_for_tabs(&mut d, 10_000), Decision::Nothing);

    let mut p = phone();
    let t = read_down(&mut p, 1_000, 2_400.0);
    p.observe(t, Signal::CheckoutInteraction);
    p.observe(t, Signal::PaymentStarted);
    assert_eq!(p.next_deadline(), None);
    assert_eq!(
        fling_up(&mut p, t, 2_400.0, 2_400.0, 3.0),
        Decision::Nothing
    );
    let t = t + 10 * IDLE_MS;
    assert_eq!(p.tick(t), Decision::Nothing);
    // Declined: the shopper may still leave, and the detector watches again.
    p.observe(t, Signal::PaymentFinished);
    let t = read_down(&mut p, t, 2_400.0);
    assert_eq!(
        fling_up(&mut p, t, 2_400.0, 2_400.0, 3.0),
        Decision::Show(Trigger::FastScrollUp)
    );
}

#[test]
fn never_after_purchase() {
    let mut d = phone();
    read_down(&mut d, 1_000, 2_400.0);
    d.observe(30_000, Signal::PaymentStarted);
    d.observe(32_000, Signal::PaymentFinished);
    d.observe(32_000, Signal::Purchased);
    assert_eq!(d.closed(), Some(Closed::Purchased));
    assert_eq!(
        fling_up(&mut d, 40_000, 2_400.0, 2_400.0, 3.0),
        Decision::Nothing
    );
    d.observe(50_000, Signal::PageHidden);
    assert_eq!(d.observe(90_000, Signal::PageVisible), Decision::Nothing);
}

#[test]
fn at_most_once_per_session() {
    let mut d = phone();
    read_down(&mut d, 1_000, 1_000.0);
    d.observe(12_000, Signal::PageHidden);
    assert!(matches!(
        d.observe(20_000, Signal::PageVisible),
        Decision::Show(_)
    ));
    d.observe(21_000, Signal::PageHidden);
    assert_eq!(d.observe(40_000, Signal::PageVisible), Decision::Nothing);
    // The next page of the same session, told by the caller's session flag.
    let memory = Memory {
        shown_this_session: true,
        last_declined_at_ms: None,
    };
    let mut d = ExitIntent::new(Device::Desktop, Thresholds::default(), memory, NOW_EPOCH);
    assert_eq!(d.closed(), Some(Closed::ShownThisSession));
    browse(&mut d, 500, 8_000);
    assert_eq!(head_for_tabs(&mut d, 8_300), Decision::Nothing);
}

#[test]
fn not_within_the_cooldown_after_no_thanks() {
    let day = 24 * 3_600_000;
    let declined = |at| Memory {
        shown_this_session: false,
        last_declined_at_ms: Some(at),
    };
    let cooling = NOW_EPOCH - (u64::from(COOLDOWN_DAYS) * day - 1);
    let mut d = ExitIntent::new(
        Device::Desktop,
        Thresholds::default(),
        declined(cooling),
        NOW_EPOCH,
    );
    assert_eq!(d.closed(), Some(Closed::CoolingDown));
    browse(&mut d, 500, 8_000);
    assert_eq!(head_for_tabs(&mut d, 8_300), Decision::Nothing);
    // The cooldown is over, and it is configurable.
    let over = NOW_EPOCH - u64::from(COOLDOWN_DAYS) * day;
    let d = ExitIntent::new(
        Device::Desktop,
        Thresholds::default(),
        declined(over),
        NOW_EPOCH,
    );
    assert_eq!(d.closed(), None);
    let week = Thresholds {
        cooldown_days: 7,
        ..Thresholds::default()
    };
    let d = ExitIntent::new(
        Device::Desktop,
        week,
        declined(NOW_EPOCH - 8 * day),
        NOW_EPOCH,
    );
    assert_eq!(d.closed(), None);
    // A decline "in the future" (the clock moved back) stays quiet.
    assert!(in_cooldown(Some(NOW_EPOCH + day), NOW_EPOCH, 30));
    assert!(!in_cooldown(None, NOW_EPOCH, 30));
}

#[test]
fn no_thanks_on_this_page_closes_the_detector() {
    let mut d = desktop();
    d.observe(1_000, Signal::ExitOfferShown);
    d.observe(2_000, Signal::ExitOfferDeclined);
    assert_eq!(d.closed(), Some(Closed::Shown));
    let mut d = desktop();
    d.observe(2_000, Signal::ExitOfferDeclined);
    assert_eq!(d.closed(), Some(Closed::Declined));
    browse(&mut d, 2_000, 8_000);
    assert_eq!(head_for_tabs(&mut d, 8_300), Decision::Nothing);
}

#[test]
fn non_finite_input_and_time_going_backwards_are_harmless() {
    let mut d = desktop();
    assert_eq!(d.observe(100, mv(f64::NAN, 1.0)), Decision::Nothing);
    browse(&mut d, 500, 8_000);
    assert_eq!(
        d.observe(8_300, leave(600.0, f64::NEG_INFINITY, -2.0)),
        Decision::Nothing
    );
    // A signal stamped earlier than the last one is taken as "now".
    assert!(matches!(
        d.observe(10, leave(600.0, -1.0, -2.0)),
        Decision::Pending { show_at_ms: 8_600 }
    ));
}

#[test]
fn triggers_have_stable_event_names() {
    assert_eq!(Trigger::PointerLeftTop.as_str(), "pointer_left_top");
    assert_eq!(Trigger::FastScrollUp.as_str(), "fast_scroll_up");
    assert_eq!(
        Trigger::ReturnedAfterHidden.as_str(),
        "returned_after_hidden"
    );
    assert_eq!(
        Trigger::IdleAfterEngagement.as_str(),
        "idle_after_engagement"
    );
}

#[test]
fn default_thresholds_are_valid_and_bad_ones_are_named() {
    assert_eq!(Thresholds::default().problems(), vec![]);
    let bad = Thresholds {
        min_exit_speed_px_per_s: 0,
        short_page_pct: 50,
        idle_ms: 10,
        form_trip_ms: 7_200_000,
        cooldown_days: 10_000,
        ..Thresholds::default()
    };
    let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
    assert_eq!(
        fields,
        [
            "form_trip_ms",
            "idle_ms",
            "min_exit_speed_px_per_s",
            "short_page_pct",
            "cooldown_days"
        ]
    );
}

fn any_signal() -> impl Strategy<Value = Signal> {
    let coord = -50.0..1_500.0f64;
    prop_oneof![
        (coord.clone(), coord.clone()).prop_map(|(x, y)| mv(x, y)),
        (coord.clone(), -20.0..20.0f64, -5.0..5.0f64).prop_map(|(x, y, vy)| leave(x, y, vy)),
        (0.0..5_000.0f64, prop_oneof![Just(700.0), Just(4_000.0f64)]).prop_map(|(y, doc)| {
            Signal::Scroll {
                y,
                viewport_height: PHONE_VH,
                document_height: doc,
            }
        }),
        Just(Signal::PageHidden),
        Just(Signal::PageVisible),
        Just(Signal::CheckoutInteraction),
        Just(Signal::PaymentStarted),
        Just(Signal::PaymentFinished),
        Just(Signal::Purchased),
        Just(Signal::ExitOfferShown),
        Just(Signal::ExitOfferDeclined),
    ]
}

proptest! {
    /// Whatever the trace: at most one show, never during a payment, after a purchase or while
    /// hidden.
    #[test]
    fn invariants_hold_on_any_trace(
        touch in any::<bool>(),
        steps in prop::collection::vec((0u64..3_000, any_signal(), any::<bool>()), 0..200),
    ) {
        let device = if touch { Device::Touch } else { Device::Desktop };
        let mut d = ExitIntent::new(device, Thresholds::default(), Memory::default(), NOW_EPOCH);
        let (mut t, mut shows) = (0u64, 0);
        let (mut paying, mut bought, mut hidden) = (false, false, false);
        for (dt, signal, tick) in steps {
            t += dt;
            let r = if tick { d.tick(t) } else { d.observe(t, signal) };
            if !tick {
                match signal {
                    Signal::PaymentStarted => paying = true,
                    Signal::PaymentFinished => paying = false,
                    Signal::Purchased => bought = true,
                    Signal::PageHidden => hidden = true,
                    Signal::PageVisible => hidden = false,
                    _ => {}
                }
            }
            if let Decision::Show(_) = r {
                shows += 1;
                prop_assert!(!paying && !bought && !hidden);
            }
            if let Decision::Pending { show_at_ms } = r {
                prop_assert!(show_at_ms > t && !paying && !bought);
            }
        }
        prop_assert!(shows <= 1);
    }
}

#[test]
fn coming_back_in_from_the_top_later_on_does_not_fire() {
    let mut d = desktop();
    browse(&mut d, 500, 8_000);
    // Out through the side to another window, back later through the top (from the tabs) …
    assert_eq!(
        d.observe(8_100, leave(1_290.0, 300.0, 0.0)),
        Decision::Nothing
    );
    d.observe(20_000, mv(600.0, 5.0));
    d.observe(20_200, mv(610.0, 40.0));
    // … and straight back up where it came from: not an exit.
    assert_eq!(
        d.observe(20_400, leave(610.0, -1.0, -1.5)),
        Decision::Nothing
    );
    assert_eq!(d.tick(21_000), Decision::Nothing);
    // Once it has been down into the page, the same move counts.
    d.observe(21_500, mv(600.0, 400.0));
    assert!(matches!(
        head_for_tabs(&mut d, 22_000),
        Decision::Pending { .. }
    ));
}
