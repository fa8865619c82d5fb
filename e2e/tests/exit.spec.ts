// The exit offer (issue 6) on the host page e2e/fixtures/exit.html, with the seeded creator-course
// offer given inline so that each test can set the detector's thresholds (`exit_offer.detector`).
// Every signal is real browser input: mouse moves out of the viewport (desktop), raw touch drags
// that scroll the page (phone), and real `visibilitychange`s from leaving the page and coming back
// through the back-forward cache. No test overrides document.visibilityState or fakes events.
import { test, expect } from '../support/test';
import { Checkout, CARDS, buyer, ordersOf, money } from '../support/checkout';
import { events } from '../support/widget';
import { launchOptions } from '../support/browser';
import {
  ExitOffer, FAST, exitEvents, flickUp, inlineOffer, leaveAndComeBack, leaveThroughTheTop, openExitPage, readDown,
  recordLifecycle, scrollSettled, showExitIntent,
} from '../support/exit';
import type { Locator, Page, Route } from '@playwright/test';

// Headless Chromium keeps every page "visible": opening and fronting another tab, minimizing the
// window or freezing the page through CDP change nothing in document.visibilityState. Leaving for
// another page and going back does, when the page is kept in the back-forward cache, which
// Playwright turns off by default; this file turns it back on (as in shoppers' browsers).
test.use({ launchOptions: { ...launchOptions, ignoreDefaultArgs: ['--disable-back-forward-cache'] } });

async function open(page: Page, detector: object = FAST) {
  await openExitPage(page, detector);
  const offer = await inlineOffer(page);
  return new ExitOffer(page, offer.exit_offer.headline);
}

const shown = (signal: string) => [`exit_intent_detected:${signal}`, `exit_offer_shown:${signal}`];

test.describe('desktop', () => {
  test.skip(({ isMobile }) => isMobile, 'pointer signals');

  test('leaving through the top shows the offer, but not before the minimum time on the page', async ({ page }) => {
    const exit = await open(page, {}); // the defaults: 5 s on the page, 300 ms grace
    expect(await page.evaluate(() => performance.now())).toBeLessThan(5_000);
    await leaveThroughTheTop(page);
    await page.mouse.move(640, 400, { steps: 3 });
    // The page's own clock passes the minimum: the early exit left nothing pending behind.
    await page.waitForFunction(() => performance.now() > 5_000);
    await expect(exit.dialog).toBeHidden();
    expect(await exitEvents(page)).toEqual([]);
    await leaveThroughTheTop(page);
    // Shown once the pointer has stayed out for the grace delay.
    await expect(exit.dialog).toBeVisible();
    expect(await exitEvents(page)).toEqual(shown('pointer_left_top'));
  });

  test('a pointer that came in from the top and goes back up does not show it', async ({ page }) => {
    // Only the entry rule holds it back here: no minimum time, no grace, a wide entry window.
    const exit = await open(page, { ...FAST, entry_window_ms: 60_000 });
    await page.mouse.move(500, 4); // in from the tabs or the address bar…
    await page.mouse.move(560, 40, { steps: 3 });
    await page.mouse.move(560, -8); // …and straight back up
    expect(await exitEvents(page)).toEqual([]); // with no grace it would have shown in that event
    // Once the pointer has been down into the page, the same move is an exit.
    await leaveThroughTheTop(page, 560);
    await expect(exit.dialog).toBeVisible();
    expect(await exitEvents(page)).toEqual(shown('pointer_left_top'));
  });

  test('no offer during 3-D Secure, nor after the purchase', async ({ page }, info) => {
    const exit = await open(page);
    const checkout = new Checkout(page);
    await checkout.fill(buyer(info), CARDS.threeDS);
    await checkout.pay.click();
    await expect(checkout.challenge).toBeVisible();
    await leaveThroughTheTop(page);
    expect(await exitEvents(page)).toEqual([]);
    await checkout.challenge.frameLocator('iframe').getByRole('button', { name: 'Approve payment' }).click();
    await expect(checkout.receiptHeading).toBeVisible();
    await leaveThroughTheTop(page);
    expect(await exitEvents(page)).toEqual([]);
    await expect(exit.dialog).toHaveCount(0);
  });

  test('at 320 px the offer fits, with 44 px targets', async ({ page }) => {
    await page.setViewportSize({ width: 320, height: 640 });
    const exit = await open(page);
    await leaveThroughTheTop(page, 160);
    await expect(exit.dialog).toBeVisible();
    // Measured once its short entrance animation has finished.
    await exit.dialog.evaluate((d) => Promise.all(d.getAnimations({ subtree: true }).map((a) => a.finished)));
    const box = (await exit.dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(320);
    expect(await exit.dialog.evaluate((d) => d.scrollWidth <= d.clientWidth)).toBe(true);
    for (const button of [exit.accept, exit.decline]) {
      expect((await button.boundingBox())!.height).toBeGreaterThanOrEqual(44);
    }
  });
});

test('with prefers-reduced-motion the offer appears without animation', async ({ page }, info) => {
  await page.emulateMedia({ reducedMotion: 'reduce' });
  const exit = await open(page);
  await showExitIntent(page, info);
  await expect(exit.dialog).toBeVisible();
  expect(await exit.dialog.evaluate((d) => d.getAnimations({ subtree: true }).length)).toBe(0);
});

test.describe('phone', () => {
  test.skip(({ isMobile }) => !isMobile, 'touch signals');

  test('a fast flick back up after reading down shows the offer; reading and script jumps do not', async ({ page }) => {
    const exit = await open(page);
    const cdp = await page.context().newCDPSession(page);
    await readDown(page, cdp);
    expect(await exitEvents(page)).toEqual([]);
    // A jump to the top by script (an anchor link, a field scrolled into view) is not a flick.
    await page.evaluate(() => window.scrollTo(0, 0));
    await scrollSettled(page);
    expect(await exitEvents(page)).toEqual([]);
    await readDown(page, cdp);
    await flickUp(page, cdp);
    await expect(exit.dialog).toBeVisible();
    expect(await exitEvents(page)).toEqual(shown('fast_scroll_up'));
  });
});

test('at most once per session: not again on this page, nor after a reload', async ({ page }, info) => {
  const exit = await open(page);
  await showExitIntent(page, info);
  await expect(exit.dialog).toBeVisible();
  const [detected] = await exitEvents(page);
  const signal = detected.split(':')[1];
  await exit.accept.click();
  await expect(exit.dialog).toBeHidden();
  await showExitIntent(page, info);
  expect(await exitEvents(page)).toEqual([...shown(signal), `exit_offer_accepted:${signal}`]);
  await page.reload();
  await expect(new Checkout(page).pay).toHaveText(/^Pay .+/);
  await showExitIntent(page, info);
  expect(await exitEvents(page)).toEqual([]);
  // What the browser keeps: one flag for this session, nothing in localStorage.
  expect(await page.evaluate(() => ({ ...sessionStorage }))).toMatchObject({ 'momentum:exit-shown:creator-course': '1' });
  expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('exit')))).toEqual([]);
});

test('Escape says "No thanks": focus went in, stayed in, and returns; the cooldown is a timestamp only', async ({ page }, info) => {
  const exit = await open(page);
  const checkout = new Checkout(page);
  await checkout.email.fill('ana@example.com');
  await expect(checkout.email).toBeFocused();
  await showExitIntent(page, info);
  await expect(exit.dialog).toBeVisible();
  await expect(exit.accept).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(exit.decline).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(exit.accept).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(exit.decline).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(exit.dialog).toBeHidden();
  await expect(checkout.email).toBeFocused();
  const [detected] = await exitEvents(page);
  const signal = detected.split(':')[1];
  expect(await exitEvents(page)).toEqual([...shown(signal), `exit_offer_declined:${signal}`]);
  const stored = await page.evaluate(() => ({ now: Date.now(), items: { ...localStorage } }));
  const declined = Object.entries(stored.items).filter(([k]) => k.includes('exit'));
  expect(declined.map(([k]) => k)).toEqual(['momentum:exit-declined:creator-course']);
  expect(declined[0][1]).toMatch(/^\d+$/);
  expect(stored.now - Number(declined[0][1])).toBeLessThan(60_000);
  // The cooldown holds on the next visit, in a new session too.
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  await showExitIntent(page, info);
  expect(await exitEvents(page)).toEqual([]);
});

test('axe: 0 violations with the offer open; it covers a z-index 2147483647 header and shifts nothing', async ({ page, axe }, info) => {
  const exit = await open(page);
  const layout = () =>
    page.evaluate(() => ({
      height: document.documentElement.scrollHeight,
      heading: document.querySelector('h1')!.getBoundingClientRect().top + window.scrollY,
      widget: document.querySelector('momentum-checkout')!.getBoundingClientRect().top + window.scrollY,
    }));
  const before = await layout();
  await showExitIntent(page, info);
  await expect(exit.dialog).toBeVisible();
  expect(await axe()).toEqual([]);
  expect(await layout()).toEqual(before);
  const onTop = await page.evaluate(() => {
    const header = document.querySelector('header')!.getBoundingClientRect();
    return document.elementFromPoint(header.left + 4, header.top + 4)?.tagName;
  });
  expect(onTop).toBe('MOMENTUM-CHECKOUT'); // its backdrop, in the top layer
});

test('accepting re-prices the cart on the server; Pay shows the new total and charges exactly it once', async ({ page, api }, info) => {
  const exit = await open(page);
  const checkout = new Checkout(page);
  const quote = async (exit_offer: boolean) =>
    (await api.post('/v1/quotes', { data: { offer_id: 'creator-course', country: 'IE', exit_offer } })).json();
  const [plain, discounted] = [await quote(false), await quote(true)];
  const product = (q: any) => q.without_bump.lines.find((l: any) => l.kind === 'product');
  await showExitIntent(page, info);
  await expect(exit.dialog).toBeVisible();
  // The dialog states the new price as the server prices it.
  const now = await money(page, product(discounted).amount, 'EUR');
  const was = await money(page, product(plain).amount, 'EUR');
  await expect(exit.dialog).toContainText(`${now} instead of ${was}`);
  await exit.accept.click();
  await expect(exit.dialog).toBeHidden();
  await expect(checkout.pay).toHaveText(`Pay ${await money(page, discounted.without_bump.total, 'EUR')}`);
  await expect(checkout.root.locator('tr[data-line=product] th')).toHaveText(product(discounted).label);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.receiptHeading).toBeVisible();
  const { orders, charges } = await ordersOf(api, email);
  expect(orders).toHaveLength(1);
  expect(charges.map((c: any) => c.amount)).toEqual([discounted.without_bump.total]);
  expect(orders[0].receipt.lines.map((l: any) => l.label)).toEqual([product(discounted).label]);
  expect((await exitEvents(page)).at(-1)).toMatch(/^exit_offer_accepted:/);
});

/** Routes the exit offer's quote requests (`exit_offer: true`) to `answer`; others pass. */
async function onDiscountedQuote(page: Page, answer: (route: Route, count: number) => Promise<void>) {
  let count = 0;
  await page.route(/\/v1\/quotes$/, (route) =>
    route.request().postDataJSON()?.exit_offer ? answer(route, ++count) : route.continue(),
  );
  return () => count;
}

test('a discount that cannot be priced keeps the regular price, says so, and Pay still charges it once', async ({ page, api }, info) => {
  const exit = await open(page);
  const checkout = new Checkout(page);
  const regular = await checkout.pay.textContent();
  const attempts = await onDiscountedQuote(page, (route) => route.abort('connectionreset'));
  await showExitIntent(page, info);
  await exit.accept.click();
  await expect(checkout.root.getByRole('status').filter({ hasText: 'discount could not be applied' })).toHaveText(
    'The discount could not be applied just now, so this is the regular price.',
  );
  expect(attempts()).toBe(3); // the first request and two retries
  await expect(checkout.pay).toHaveText(regular!);
  await expect(checkout.pay).toHaveAttribute('aria-disabled', 'false');
  const error = (await events(page)).find((e) => e.type === 'momentum:error')!;
  expect(error.detail).toMatchObject({ code: 'exit_offer_unavailable' });
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.receiptHeading).toBeVisible();
  const plain = await (await api.post('/v1/quotes', { data: { offer_id: 'creator-course', country: 'IE', exit_offer: false } })).json();
  const { charges } = await ordersOf(api, email);
  expect(charges.map((c: any) => c.amount)).toEqual([plain.without_bump.total]);
  expect(regular).toBe(`Pay ${await money(page, plain.without_bump.total, 'EUR')}`);
});

test('a discounted quote that fails once is retried and applied', async ({ page }, info) => {
  const exit = await open(page);
  const checkout = new Checkout(page);
  const regular = await checkout.pay.textContent();
  const attempts = await onDiscountedQuote(page, (route, n) => (n === 1 ? route.abort('connectionreset') : route.continue()));
  await showExitIntent(page, info);
  await exit.accept.click();
  await expect(checkout.pay).not.toHaveText(regular!);
  expect(attempts()).toBe(2);
  await expect(checkout.root).not.toContainText('discount could not be applied');
  expect((await events(page)).filter((e) => e.type === 'momentum:error')).toEqual([]);
});

/** The dialog's box is centred in the viewport (to the pixel). */
async function expectCentred(page: Page, dialog: Locator) {
  await dialog.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished))); // it rises in
  const box = (await dialog.boundingBox())!;
  const viewport = page.viewportSize()!;
  expect(Math.abs(box.x + box.width / 2 - viewport.width / 2)).toBeLessThanOrEqual(1);
  expect(Math.abs(box.y + box.height / 2 - viewport.height / 2)).toBeLessThanOrEqual(1);
}

test.describe('leaving the page and coming back', () => {
  test.beforeEach(({ page }) => page.addInitScript(recordLifecycle));

  test('the exit offer and the 3-D Secure dialog open centred in the viewport', async ({ page }, info) => {
    const exit = await open(page);
    // Signals that leave the page unscrolled, so the screenshots are the same every run.
    if (info.project.name === 'phone') await leaveAndComeBack(page);
    else await leaveThroughTheTop(page);
    await expect(exit.dialog).toBeVisible();
    await expectCentred(page, exit.dialog);
    await expect(page).toHaveScreenshot('exit-offer.png', { maxDiffPixelRatio: 0.01 });
    await exit.decline.click();
    const checkout = new Checkout(page);
    await checkout.fill(buyer(info), CARDS.threeDS);
    await checkout.pay.click();
    await expect(checkout.challenge).toBeVisible();
    await expect(checkout.challenge.frameLocator('iframe').getByRole('button', { name: 'Approve payment' })).toBeVisible();
    await expectCentred(page, checkout.challenge);
    await expect(page).toHaveScreenshot('challenge.png', { maxDiffPixelRatio: 0.01, mask: [checkout.email] });
    await checkout.challenge.getByRole('button', { name: 'Cancel payment' }).click();
  });

  test('phone: coming back after the page was hidden shows the offer', async ({ page }, info) => {
    test.skip(info.project.name !== 'phone', 'a touch trigger');
    const exit = await open(page);
    await leaveAndComeBack(page);
    expect(await page.evaluate(() => (window as any).__visibility)).toEqual(['hidden', 'visible']);
    await expect(exit.dialog).toBeVisible();
    expect(await exitEvents(page)).toEqual(shown('returned_after_hidden'));
  });

  test('phone: not when the shopper left mid-form to copy something (a field had focus)', async ({ page }, info) => {
    test.skip(info.project.name !== 'phone', 'a touch trigger');
    const exit = await open(page);
    const checkout = new Checkout(page);
    await checkout.email.fill('ana@example.com'); // the field keeps focus while the shopper is away
    await leaveAndComeBack(page);
    expect(await exitEvents(page)).toEqual([]);
    // Away again with no field focused: that return is a sign of leaving.
    await checkout.email.blur();
    await leaveAndComeBack(page);
    await expect(exit.dialog).toBeVisible();
    expect(await exitEvents(page)).toEqual(shown('returned_after_hidden'));
  });

  test('phone: not while 3-D Secure is in flight (the banking app), nor after the purchase', async ({ page, api }, info) => {
    test.skip(info.project.name !== 'phone', 'a touch trigger');
    const exit = await open(page);
    const checkout = new Checkout(page);
    const email = buyer(info);
    await checkout.fill(email, CARDS.threeDS);
    await checkout.pay.click();
    await expect(checkout.challenge).toBeVisible();
    await leaveAndComeBack(page);
    expect(await exitEvents(page)).toEqual([]);
    // Playwright loses track of the bank's cross-origin frame once the page comes back from the
    // back-forward cache, so the shopper cancels here (nothing charged) and pays with another card.
    await checkout.challenge.getByRole('button', { name: 'Cancel payment' }).click();
    await expect(checkout.paymentError).toContainText('nothing was charged');
    await checkout.card.fill(CARDS.ok);
    await checkout.pay.click();
    await expect(checkout.receiptHeading).toBeVisible();
    await leaveAndComeBack(page);
    expect(await exitEvents(page)).toEqual([]);
    await expect(exit.dialog).toHaveCount(0);
    expect((await ordersOf(api, email)).charges).toHaveLength(1);
  });

  test('desktop: coming back is not a sign of leaving there (the pointer is)', async ({ page }, info) => {
    test.skip(info.project.name !== 'desktop', 'a desktop rule');
    const exit = await open(page);
    await leaveAndComeBack(page);
    expect(await page.evaluate(() => (window as any).__visibility)).toEqual(['hidden', 'visible']);
    expect(await exitEvents(page)).toEqual([]);
    await leaveThroughTheTop(page);
    await expect(exit.dialog).toBeVisible();
  });
});
