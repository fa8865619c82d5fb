//! Exit-intent detector over generated browsing traces: true-positive and false-positive rates per
//! device class. Not a timing benchmark; `cargo bench -p momentum-core --bench exit_intent`.
//!
//! Traces come from a seeded SplitMix64, so the figures are reproducible. Each session is labelled
//! by what the simulated shopper does:
//! - leaving: desktop — heads for the tabs/back button fast (most), slowly, with the keyboard, or
//!   bounces within seconds; phone — flings back to the top, switches away (sometimes mid-form)
//!   and returns, switches away for good, goes idle after starting the checkout, or bounces after
//!   a glance;
//! - staying: reads, moves about (with flicks out of the top and back, glances at the browser
//!   chrome, exits to a second screen), switches tabs briefly, leaves the form for a moment to copy
//!   something into it (phones), pays (3-D Secure app switches on phones), and sometimes leaves
//!   after buying.
//!
//! A leaving session is a true positive when the offer shows between the start of the exit
//! behaviour and the page going away; a show before it is counted as "early" (a false positive
//! inside a leaving session). Some leaving kinds are undetectable by design (keyboard exits, tabs
//! closed while hidden): they keep the true-positive rate honest. Any show during a payment, after
//! a purchase, while hidden, or twice, is a violation and fails the run.

use std::cell::Cell;

use momentum_core::exit_intent::{
    Decision, Device, ExitIntent, Memory, Signal, Thresholds, Trigger,
};

const SESSIONS_PER_CLASS: usize = 10_000;
const SEED: u64 = 0x6d6f_6d65_6e74_756d; // "momentum"

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, good enough for traces. The state is a
/// `Cell` so that generators can draw numbers while building arguments to their own methods.
struct Rng(Cell<u64>);

impl Rng {
    fn next_u64(&self) -> u64 {
        self.0.set(self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15));
        let mut z = self.0.get();
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn ms(&self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    fn chance(&self, p: f64) -> bool {
        self.unit() < p
    }
    /// Log-uniform: durations spread over orders of magnitude (pauses, time away).
    fn log_ms(&self, lo: u64, hi: u64) -> u64 {
        (self.range((lo as f64).ln(), (hi as f64).ln())).exp() as u64
    }
}

/// A generated session: signals in time order, when the page goes away, and the ground truth.
struct Trace {
    device: Device,
    events: Vec<(u64, Signal)>,
    end: u64,
    /// `Some(start of the exit behaviour)` for a leaving session.
    exit_at: Option<u64>,
}

/// Builds one trace, tracking the simulated pointer, scroll position and clock.
struct Gen<'r> {
    rng: &'r Rng,
    t: u64,
    events: Vec<(u64, Signal)>,
    vw: f64,
    vh: f64,
    doc: f64,
    x: f64,
    y: f64,
}

impl<'r> Gen<'r> {
    fn new(rng: &'r Rng, phone: bool) -> Self {
        let (vw, vh) = if phone {
            (rng.range(360.0, 430.0), rng.range(620.0, 900.0))
        } else {
            (rng.range(1_200.0, 1_920.0), rng.range(650.0, 1_100.0))
        };
        let doc = if phone && rng.chance(0.2) {
            vh * rng.range(1.0, 1.45) // a short page: the checkout alone
        } else {
            vh * rng.range(2.0, 9.0)
        };
        Gen {
            rng,
            t: 0,
            events: Vec::new(),
            vw,
            vh,
            doc,
            x: 0.0,
            y: 0.0,
        }
    }
    fn emit(&mut self, s: Signal) {
        self.events.push((self.t, s));
    }
    fn wait(&mut self, ms: u64) {
        self.t += ms;
    }
    fn frame(&mut self) {
        self.t += self.rng.ms(14, 18);
    }
    fn pointer_at(&mut self, x: f64, y: f64) {
        self.x = x;
        self.y = y;
        let s = Signal::PointerMove {
            x,
            y,
            viewport_width: self.vw,
            viewport_height: self.vh,
        };
        self.emit(s);
    }
    /// Moves the pointer to `(tx, ty)` at about `speed` px/ms, one event per frame.
    fn move_to(&mut self, tx: f64, ty: f64, speed: f64) {
        let (dx, dy) = (tx - self.x, ty - self.y);
        let steps = ((dx.hypot(dy) / (speed * 16.0)).ceil() as usize).max(1);
        let (x0, y0) = (self.x, self.y);
        for i in 1..=steps {
            self.frame();
            let f = i as f64 / steps as f64;
            let wobble = self.rng.range(-2.0, 2.0);
            self.pointer_at(x0 + dx * f + wobble, y0 + dy * f + wobble);
        }
    }
    /// Moves up and out through the top at `speed` px/ms.
    fn out_through_top(&mut self, speed: f64) {
        let tx = (self.x + self.rng.range(-300.0, 300.0)).clamp(5.0, self.vw - 5.0);
        if self.y > 30.0 {
            self.move_to(tx, self.rng.range(5.0, 25.0), speed);
        }
        self.frame();
        let (y, vy) = (
            self.rng.range(-20.0, 8.0),
            -speed * self.rng.range(0.6, 1.2),
        );
        let vx = self.rng.range(-0.5, 0.5);
        self.emit(Signal::PointerLeave {
            x: self.x,
            y,
            vx,
            vy,
        });
    }
    /// Wanders about the page for `ms`, with the noise real pointers make.
    fn wander(&mut self, ms: u64) {
        let until = self.t + ms;
        while self.t < until {
            let r = self.rng.unit();
            if r < 0.06 {
                // Over the site's own header or nav, slowly.
                let (x, y) = (
                    self.rng.range(50.0, self.vw - 50.0),
                    self.rng.range(5.0, 70.0),
                );
                self.move_to(x, y, self.rng.range(0.2, 0.8));
            } else if r < 0.07 {
                // Overshoots the top while reaching for the nav, and comes straight back.
                let speed = self.rng.range(0.5, 2.5);
                self.out_through_top(speed);
                let back = self.rng.log_ms(40, 400);
                self.wait(back);
                let x = self.x;
                self.pointer_at(x, self.rng.range(2.0, 30.0));
                self.move_to(x, self.rng.range(80.0, 300.0), 1.0);
            } else if r < 0.08 {
                // Out the side or bottom to a second screen, back later.
                let to_right = self.rng.chance(0.5);
                let (x, y) = if to_right {
                    (self.vw - 2.0, self.rng.range(50.0, self.vh))
                } else {
                    (self.rng.range(0.0, self.vw), self.vh - 2.0)
                };
                self.move_to(x, y, 1.5);
                self.frame();
                let (lx, ly) = if to_right {
                    (self.vw + 5.0, y)
                } else {
                    (x, self.vh + 5.0)
                };
                self.emit(Signal::PointerLeave {
                    x: lx,
                    y: ly,
                    vx: if to_right { 1.5 } else { 0.0 },
                    vy: if to_right { -0.3 } else { 1.5 },
                });
                let away = self.rng.log_ms(1_000, 30_000);
                self.wait(away);
                self.pointer_at(x, y);
            } else {
                let x = self.rng.range(20.0, self.vw - 20.0);
                let y = self.rng.range(80.0, self.vh - 20.0);
                self.move_to(x, y, self.rng.range(0.3, 2.0));
            }
            let pause = self.rng.log_ms(200, 8_000);
            self.wait(pause);
        }
    }
    /// The pointer arrives: often from the top (address bar, tabs) just after load.
    fn desktop_entry(&mut self) {
        if self.rng.chance(0.4) {
            self.wait(self.rng.ms(100, 1_500));
            let x = self.rng.range(100.0, self.vw - 100.0);
            self.pointer_at(x, self.rng.range(0.0, 30.0));
            if self.rng.chance(0.3) {
                // Lingers over the header, sometimes popping back out above it.
                self.move_to(x + 40.0, self.rng.range(20.0, 70.0), 0.3);
                if self.rng.chance(0.5) {
                    self.out_through_top(self.rng.range(0.4, 1.5));
                    self.wait(self.rng.ms(200, 2_000));
                    self.pointer_at(x, 5.0);
                }
                self.wait(self.rng.ms(500, 4_000));
            }
            let y = self.rng.range(150.0, self.vh - 50.0);
            self.move_to(x, y, self.rng.range(0.5, 2.0));
        } else {
            self.wait(self.rng.ms(200, 4_000));
            let (x, y) = (self.rng.range(0.0, self.vw), self.rng.range(100.0, self.vh));
            self.pointer_at(x, y);
        }
    }
    fn typing(&mut self, ms: u64) {
        let until = self.t + ms;
        while self.t < until {
            self.emit(Signal::CheckoutInteraction);
            let gap = if self.rng.chance(0.1) {
                self.rng.ms(1_000, 12_000) // between fields
            } else {
                self.rng.ms(120, 450)
            };
            self.wait(gap);
        }
    }
    /// Pays; `app_switch`: 3-D Secure in the banking app (the page is hidden meanwhile).
    fn pay(&mut self, app_switch: bool, succeed: bool) {
        self.emit(Signal::PaymentStarted);
        self.wait(self.rng.ms(300, 2_000));
        if app_switch {
            self.emit(Signal::PageHidden);
            self.wait(self.rng.log_ms(6_000, 90_000));
            self.emit(Signal::PageVisible);
            self.wait(self.rng.ms(200, 2_000));
        }
        self.emit(Signal::PaymentFinished);
        if succeed {
            self.emit(Signal::Purchased);
        }
    }
    /// Leaves mid-form (to copy an address, fetch a code from the mail app) and comes back. Mostly
    /// the field still has focus as the page hides, which the web layer reports as an interaction.
    fn form_trip(&mut self) {
        if self.rng.chance(0.7) {
            self.emit(Signal::CheckoutInteraction);
        } else {
            let pause = self.rng.ms(500, 15_000); // put the keyboard away first
            self.wait(pause);
        }
        let away = self.rng.log_ms(2_000, 180_000);
        self.away(away);
    }
    fn away(&mut self, ms: u64) {
        self.emit(Signal::PageHidden);
        self.wait(ms);
        self.emit(Signal::PageVisible);
    }
    fn scroll_event(&mut self, y: f64) {
        self.y = y.clamp(0.0, (self.doc - self.vh).max(0.0));
        let s = Signal::Scroll {
            y: self.y,
            viewport_height: self.vh,
            document_height: self.doc,
        };
        self.emit(s);
    }
    /// A drag at `speed` px/ms by `dy` (negative is up).
    fn drag(&mut self, dy: f64, speed: f64) {
        let steps = ((dy.abs() / (speed * 16.0)).ceil() as usize).max(1);
        let y0 = self.y;
        for i in 1..=steps {
            self.frame();
            self.scroll_event(y0 + dy * i as f64 / steps as f64);
        }
    }
    /// A fling: starts at `v0` px/ms and decelerates like iOS/Android momentum scrolling.
    fn fling(&mut self, up: bool, v0: f64) {
        let mut v = v0;
        let sign = if up { -1.0 } else { 1.0 };
        while v > 0.05 {
            self.frame();
            let y = self.y + sign * v * 16.0;
            self.scroll_event(y);
            if self.y <= 0.0 || self.y >= self.doc - self.vh {
                break;
            }
            v *= 0.968;
        }
    }
    fn jitter(&mut self) {
        let j = self.rng.range(3.0, 60.0);
        let y = self.y;
        self.frame();
        self.scroll_event(y - j);
        self.frame();
        self.scroll_event(y);
    }
    /// Reads down the page for about `ms`, with re-reads, jitter and the odd fling.
    fn read(&mut self, ms: u64, flings_to_top: bool) {
        let until = self.t + ms;
        while self.t < until {
            let r = self.rng.unit();
            if r < 0.55 {
                let (d, v) = (self.rng.range(80.0, 600.0), self.rng.range(0.2, 1.2));
                self.drag(d, v);
            } else if r < 0.65 {
                let v = self.rng.range(0.8, 3.0);
                self.fling(false, v);
            } else if r < 0.80 {
                // Back up to re-read a line or the price: a slow, short drag.
                let (d, v) = (self.rng.range(60.0, 700.0), self.rng.range(0.15, 0.9));
                self.drag(-d, v);
            } else if r < 0.83 {
                // A quick flick up by a few lines.
                let (d, v) = (self.rng.range(50.0, 250.0), self.rng.range(1.0, 2.5));
                self.drag(-d, v);
            } else if r < 0.84 && flings_to_top {
                // Back to the top to look at the product picture again, then down again.
                let v = self.rng.range(2.0, 5.0);
                self.fling(true, v);
            } else {
                for _ in 0..self.rng.ms(1, 4) {
                    self.jitter();
                }
            }
            let pause = self.rng.log_ms(300, 10_000);
            self.wait(pause);
        }
    }
}

fn desktop_trace(rng: &Rng, leaving: bool) -> Trace {
    let mut g = Gen::new(rng, false);
    g.desktop_entry();
    if !leaving {
        let browse = g.rng.log_ms(5_000, 240_000);
        g.wander(browse);
        if g.rng.chance(0.1) {
            // Reaches for another tab or the bookmarks bar, thinks better of it, comes back.
            let speed = g.rng.range(0.5, 2.5);
            g.out_through_top(speed);
            let back = g.rng.log_ms(400, 3_000);
            g.wait(back);
            let x = g.x;
            g.pointer_at(x, 3.0);
            g.move_to(x, 300.0, 1.0);
            let more = g.rng.log_ms(2_000, 30_000);
            g.wander(more);
        }
        if g.rng.chance(0.25) {
            let away = g.rng.log_ms(1_000, 120_000);
            g.away(away);
            let more = g.rng.log_ms(2_000, 60_000);
            g.wander(more);
        }
        if g.rng.chance(0.6) {
            let fill = g.rng.ms(15_000, 90_000);
            g.typing(fill);
            let declined = g.rng.chance(0.1);
            g.pay(false, !declined);
            if declined {
                let fill = g.rng.ms(5_000, 30_000);
                g.typing(fill);
                g.pay(false, true);
            }
            let after = g.rng.ms(2_000, 20_000);
            g.wander(after);
            if g.rng.chance(0.5) {
                let speed = g.rng.range(0.5, 3.0);
                g.out_through_top(speed); // closes the tab after buying
                g.wait(g.rng.ms(100, 2_000));
            }
        }
        let end = g.t + 1;
        return Trace {
            device: Device::Desktop,
            events: g.events,
            end,
            exit_at: None,
        };
    }
    let bounce = g.rng.chance(0.1);
    let browse = if bounce {
        g.rng.ms(500, 3_500)
    } else {
        g.rng.log_ms(5_000, 180_000)
    };
    g.wander(browse);
    if !bounce && g.rng.chance(0.3) {
        let fill = g.rng.ms(3_000, 40_000);
        g.typing(fill);
    }
    let exit_at = g.t;
    let r = g.rng.unit();
    if r < 0.1 {
        // Ctrl+W, Alt+Left, a typed URL: no pointer to watch.
        g.wait(g.rng.ms(50, 500));
    } else {
        let speed = if r < 0.25 {
            g.rng.range(0.1, 0.3) // drifts out slowly
        } else {
            g.rng.range(0.5, 3.0)
        };
        g.out_through_top(speed);
        let until_gone = g.rng.log_ms(150, 5_000);
        g.wait(until_gone);
    }
    let end = g.t;
    Trace {
        device: Device::Desktop,
        events: g.events,
        end,
        exit_at: Some(exit_at),
    }
}

fn phone_trace(rng: &Rng, leaving: bool) -> Trace {
    let mut g = Gen::new(rng, true);
    g.wait(g.rng.ms(300, 2_000));
    g.scroll_event(0.0);
    if !leaving {
        let read = g.rng.log_ms(5_000, 200_000);
        g.read(read, true);
        if g.rng.chance(0.3) {
            let glance = g.rng.ms(500, 4_500); // a notification
            g.away(glance);
        }
        if g.rng.chance(0.6) {
            let fill = g.rng.ms(15_000, 120_000);
            g.typing(fill);
            if g.rng.chance(0.3) {
                g.form_trip();
                let rest = g.rng.ms(3_000, 30_000);
                g.typing(rest);
            }
            let app = g.rng.chance(0.5);
            g.pay(app, true);
            let after = g.rng.ms(2_000, 30_000);
            g.read(after, true);
            if g.rng.chance(0.5) {
                g.fling(true, 4.0);
                g.emit(Signal::PageHidden); // leaves after buying
                g.wait(1_000);
            }
        } else {
            let more = g.rng.log_ms(2_000, 60_000);
            g.read(more, true);
        }
        let end = g.t + 1;
        return Trace {
            device: Device::Touch,
            events: g.events,
            end,
            exit_at: None,
        };
    }
    let r = g.rng.unit();
    let exit_at;
    if r < 0.35 {
        // Back to the top for the address bar or the back button.
        let read = g.rng.log_ms(6_000, 180_000);
        g.read(read, false);
        if g.y < g.vh {
            let d = g.rng.range(1.0, 4.0) * g.vh;
            g.drag(d, 0.8);
        }
        g.wait(g.rng.ms(300, 3_000));
        exit_at = g.t;
        let v = if g.rng.chance(0.15) {
            g.rng.range(0.5, 1.1)
        } else {
            g.rng.range(1.5, 6.0)
        };
        while g.y > 0.0 {
            g.fling(true, v);
            if g.rng.chance(0.3) {
                break; // the bottom bar shows up: back from there
            }
            g.wait(g.rng.ms(80, 400));
        }
        g.wait(g.rng.ms(300, 3_000));
        g.emit(Signal::PageHidden);
    } else if r < 0.55 {
        // Switches away (compares prices, answers a message) and comes back, then leaves. Some had
        // started filling in the form: their switch looks like a form trip.
        let read = g.rng.log_ms(6_000, 120_000);
        g.read(read, false);
        if g.rng.chance(0.3) {
            let fill = g.rng.ms(3_000, 30_000);
            g.typing(fill);
            if g.rng.chance(0.7) {
                g.emit(Signal::CheckoutInteraction);
            }
        }
        exit_at = g.t;
        let away = if g.rng.chance(0.15) {
            g.rng.ms(1_000, 4_500)
        } else {
            g.rng.log_ms(5_000, 600_000)
        };
        g.away(away);
        g.wait(g.rng.ms(1_000, 20_000));
        g.emit(Signal::PageHidden);
    } else if r < 0.70 {
        // Switches away and never comes back.
        let read = g.rng.log_ms(6_000, 120_000);
        g.read(read, false);
        exit_at = g.t;
        g.emit(Signal::PageHidden);
    } else if r < 0.90 {
        // Starts the checkout, hesitates, leaves.
        let read = g.rng.log_ms(4_000, 60_000);
        g.read(read, false);
        let fill = g.rng.ms(3_000, 40_000);
        g.typing(fill);
        exit_at = g.t;
        let idle = if g.rng.chance(0.2) {
            g.rng.ms(8_000, 28_000)
        } else {
            g.rng.log_ms(32_000, 300_000)
        };
        g.wait(idle);
        g.emit(Signal::PageHidden);
    } else {
        // A glance and gone.
        let read = g.rng.ms(1_000, 4_000);
        g.read(read, false);
        exit_at = g.t;
        g.emit(Signal::PageHidden);
    }
    let end = g.t + 1;
    Trace {
        device: Device::Touch,
        events: g.events,
        end,
        exit_at: Some(exit_at),
    }
}

/// What happened when the detector watched one trace.
struct Outcome {
    shown: Option<(u64, Trigger)>,
    violation: Option<&'static str>,
}

/// Replays a trace as the web layer would: signals in order, and a timer for `next_deadline`.
fn replay(trace: &Trace) -> Outcome {
    let mut d = ExitIntent::new(
        trace.device,
        Thresholds::default(),
        Memory::default(),
        1_760_000_000_000,
    );
    let mut out = Outcome {
        shown: None,
        violation: None,
    };
    let (mut paying, mut bought, mut hidden) = (false, false, false);
    let mut record = |r: Decision, t: u64, paying: bool, bought: bool, hidden: bool| {
        if let Decision::Show(trigger) = r {
            if out.shown.is_some() {
                out.violation = Some("shown twice");
            } else if paying || bought || hidden {
                out.violation = Some("shown during payment, after purchase or while hidden");
            }
            out.shown.get_or_insert((t, trigger));
        }
    };
    let timers = |d: &mut ExitIntent, until: u64, rec: &mut dyn FnMut(Decision, u64)| {
        while let Some(at) = d.next_deadline().filter(|&at| at <= until) {
            rec(d.tick(at), at);
            if d.next_deadline() == Some(at) {
                break;
            }
        }
    };
    for &(t, signal) in &trace.events {
        timers(&mut d, t, &mut |r, at| {
            record(r, at, paying, bought, hidden)
        });
        let r = d.observe(t, signal);
        match signal {
            Signal::PaymentStarted => paying = true,
            Signal::PaymentFinished => paying = false,
            Signal::Purchased => bought = true,
            Signal::PageHidden => hidden = true,
            Signal::PageVisible => hidden = false,
            _ => {}
        }
        record(r, t, paying, bought, hidden);
    }
    timers(&mut d, trace.end, &mut |r, at| {
        record(r, at, paying, bought, hidden)
    });
    out
}

#[derive(Default)]
struct Tally {
    leaving: usize,
    caught: usize,
    early: usize,
    staying: usize,
    false_alarms: usize,
    signals: usize,
    /// Shows per trigger: (trigger, in leaving sessions, in staying sessions).
    by_trigger: Vec<(Trigger, usize, usize)>,
}

fn main() {
    let started = std::time::Instant::now();
    let rng = Rng(Cell::new(SEED));
    println!(
        "exit-intent detector over {SESSIONS_PER_CLASS} generated sessions per device class (half leaving), seed {SEED:#x}"
    );
    for (name, make) in [
        ("desktop", desktop_trace as fn(&Rng, bool) -> Trace),
        ("phone", phone_trace),
    ] {
        let mut tally = Tally::default();
        for i in 0..SESSIONS_PER_CLASS {
            let trace = make(&rng, i % 2 == 0);
            tally.signals += trace.events.len();
            let outcome = replay(&trace);
            if let Some(v) = outcome.violation {
                panic!("{name} session {i}: {v}");
            }
            if trace.exit_at.is_some() {
                tally.leaving += 1;
            } else {
                tally.staying += 1;
            }
            let Some((at, trigger)) = outcome.shown else {
                continue;
            };
            let row = match tally.by_trigger.iter().position(|r| r.0 == trigger) {
                Some(i) => &mut tally.by_trigger[i],
                None => {
                    tally.by_trigger.push((trigger, 0, 0));
                    tally.by_trigger.last_mut().expect("just pushed")
                }
            };
            if trace.exit_at.is_some() {
                row.1 += 1;
            } else {
                row.2 += 1;
            }
            match trace.exit_at {
                Some(exit) if at >= exit && at <= trace.end => tally.caught += 1,
                Some(_) => tally.early += 1,
                None => tally.false_alarms += 1,
            }
        }
        let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        println!(
            "{name:>8}: true positives {}/{} = {:.1} %  false positives {}/{} = {:.1} %  early (before the exit) {}  [{} signals]",
            tally.caught,
            tally.leaving,
            pct(tally.caught, tally.leaving),
            tally.false_alarms,
            tally.staying,
            pct(tally.false_alarms, tally.staying),
            tally.early,
            tally.signals,
        );
        let triggers: Vec<String> = tally
            .by_trigger
            .iter()
            .map(|(t, leaving, staying)| {
                format!("{} {leaving} leaving / {staying} staying", t.as_str())
            })
            .collect();
        println!("{:>8}  shows by trigger: {}", "", triggers.join("; "));
    }
    println!(
        "no violations (never during payment, after purchase, while hidden, or twice); {:.2} s",
        started.elapsed().as_secs_f64()
    );
}
