import { expect, type CDPSession, type Page, type TestInfo } from '@playwright/test';
import { events } from './widget';

/** Detector thresholds for tests (`exit_offer.detector`): no minimum time on the page, no grace
 * delay (a desktop exit shows in the same event, so "nothing showed" can be checked at once), any
 * hidden time, only a focused field counts as a form trip, and a flick and a pointer speed that
 * scripted input reliably reaches on a loaded machine (there, CDP's mouse moves can land more than
 * the detector's 100 ms velocity window apart: 38 px in 130 ms is under the default 300 px/s).
 * Each test that needs a default says so; the core's unit tests hold the speed rules. */
export const FAST = {
  min_time_on_page_ms: 0,
  exit_grace_ms: 0,
  min_exit_speed_px_per_s: 1,
  hidden_min_ms: 0,
  form_trip_ms: 0,
  scroll_up_min_speed_px_per_s: 600,
  scroll_up_min_distance_pct: 30,
};

/** Opens the exit-offer host page with `detector` overrides and waits for the priced checkout
 *  and for the exit offer to be armed: its code comes in a lazily loaded chunk (src/lazy.rs), and
 *  its watcher starts when that has arrived (its closed dialog is then in the widget). */
export async function openExitPage(page: Page, detector: object = FAST) {
  await page.goto(`/exit.html?detector=${encodeURIComponent(JSON.stringify(detector))}`);
  await expect(page.locator('momentum-checkout').getByRole('button', { name: /^Pay .+/ })).toBeVisible();
  await expect(page.locator('momentum-checkout dialog.m-exit')).toBeAttached();
}

/** The offer config the page embeds (tests compare the UI with it, not with literals). */
export async function inlineOffer(page: Page) {
  return JSON.parse((await page.locator('#offer').textContent())!);
}

/** Page object for the exit offer inside the widget. */
export class ExitOffer {
  constructor(readonly page: Page, readonly headline: string) {}
  get dialog() {
    return this.page.locator('momentum-checkout').getByRole('dialog', { name: this.headline });
  }
  get accept() {
    return this.dialog.getByRole('button', { name: /^Take \d+% off$/ });
  }
  get decline() {
    return this.dialog.getByRole('button', { name: 'No thanks' });
  }
}

/** The `momentum:exit_*` events so far, as `type:signal`. */
export async function exitEvents(page: Page) {
  return (await events(page))
    .filter((e) => e.type.startsWith('momentum:exit_'))
    .map((e) => `${e.type.slice('momentum:'.length)}:${e.detail?.signal}`);
}

/** Desktop: the pointer comes into the page, heads up and leaves through the top edge. Real
 * mouse input (CDP `Input.dispatchMouseEvent`): the page gets `pointermove`s and then a `mouseout`
 * with no `relatedTarget` at y < 0, as when the pointer goes for the tabs or the back button. */
export async function leaveThroughTheTop(page: Page, x = 640) {
  await page.mouse.move(x, 420, { steps: 3 });
  await page.mouse.move(x, 30, { steps: 4 });
  await page.mouse.move(x, -8);
}

/** Phone: one finger drag from `fromY` to `toY` at x = 200, as raw touch input (CDP
 * `Input.dispatchTouchEvent`): the compositor scrolls the page and flings it on release, and the
 * page gets real `touchstart`/`touchend` and `scroll` events. (`Input.synthesizeScrollGesture`
 * with `gestureSourceType: 'touch'` does not scroll under mobile emulation in this Chromium, and
 * breaks later touch input.) */
async function drag(cdp: CDPSession, fromY: number, toY: number, steps: number) {
  const point = (y: number) => [{ x: 200, y }];
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: point(fromY) });
  for (let i = 1; i <= steps; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: point(fromY + ((toY - fromY) * i) / steps) });
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
}

/** Waits until the page has stopped moving (the fling is over): scrollY unchanged over a few
 * frames. */
export async function scrollSettled(page: Page) {
  await page.waitForFunction(() => {
    const w = window as any;
    const same = w.__lastScrollY === window.scrollY;
    w.__lastScrollY = window.scrollY;
    w.__still = same ? (w.__still ?? 0) + 1 : 0;
    return w.__still >= 20;
  }, null, { polling: 'raf' });
}

/** Phone: reads down the page (three slow drags, more than a screen), waits for it to settle. */
export async function readDown(page: Page, cdp: CDPSession) {
  for (let i = 0; i < 3; i++) await drag(cdp, 700, 150, 20);
  await scrollSettled(page);
}

/** Phone: a fast flick back up towards the address bar, then waits for the page to settle. */
export async function flickUp(page: Page, cdp: CDPSession) {
  await drag(cdp, 120, 780, 8);
  await scrollSettled(page);
}

/** Leaves for another page and comes back with the back button. With the back-forward cache on
 * (see exit.spec.ts), the page is not reloaded: it is hidden, kept, and shown again, so it gets
 * real `visibilitychange` events (hidden, then visible), like a phone switching apps and back.
 * Resolves once the page was restored from the cache (`pageshow` with `persisted`). */
export async function leaveAndComeBack(page: Page) {
  const before = await page.evaluate(() => (window as any).__restored ?? 0);
  await page.goto('/elsewhere.html');
  await expect(page.getByRole('heading', { name: 'Another page' })).toBeVisible();
  await page.goBack({ waitUntil: 'commit' });
  await expect.poll(() => page.evaluate(() => (window as any).__restored ?? 0)).toBe(before + 1);
}

/** Init script: counts restores from the back-forward cache and records visibility changes. */
export function recordLifecycle() {
  const w = window as any;
  w.__visibility = [];
  addEventListener('pageshow', (e) => {
    if (e.persisted) w.__restored = (w.__restored ?? 0) + 1;
  });
  document.addEventListener('visibilitychange', () => w.__visibility.push(document.visibilityState));
}

/** The device's own exit signal: the pointer out through the top on desktop, a flick up on a phone. */
export async function showExitIntent(page: Page, info: TestInfo) {
  if (info.project.name === 'phone') {
    const cdp = await page.context().newCDPSession(page);
    await readDown(page, cdp);
    await flickUp(page, cdp);
    await cdp.detach();
  } else {
    await leaveThroughTheTop(page);
  }
}
