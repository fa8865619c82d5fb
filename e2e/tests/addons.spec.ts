import { test, expect, offer } from '../support/test';
import { Checkout, CARDS, buyer, ordersOf, money, loseFirstAnswer, type AddOn } from '../support/checkout';
import { events, eventTypes } from '../support/widget';
import { API_ORIGIN } from '../support/origins';

const addonPosts = (url: string) => url.startsWith(API_ORIGIN) && url.endsWith('/addons');
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test.beforeEach(async ({ page }) => {
  await page.goto('/checkout.html');
  await expect(new Checkout(page).pay).toHaveText(/^Pay .+/);
});

/** Pays with `card` (and the bump), and waits for the upsell card. */
async function pay(checkout: Checkout, email: string, card = CARDS.ok, bump = false) {
  if (bump) await checkout.bump.check();
  await checkout.fill(email, card);
  await checkout.pay.click();
  await expect(checkout.offer('upsell')).toBeVisible();
}

/** The receipt the backend has for `email`'s one order, and its succeeded charges. */
async function theOrder(api: Parameters<typeof ordersOf>[0], email: string) {
  const { orders, charges } = await ordersOf(api, email);
  expect(orders).toHaveLength(1);
  return { receipt: orders[0].receipt, charges };
}

test('accepting the upsell: two charges and a three-line receipt that adds up', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  const config = await offer(api);
  await pay(checkout, email, CARDS.ok, true);
  const card = checkout.offer('upsell');
  await expect(card.getByRole('heading', { level: 2 })).toBeFocused();
  await expect(card.getByRole('heading', { level: 2 })).toHaveText(`One-time offer: ${config.upsell.headline}`);
  await expect(card).toContainText(config.upsell.deliverable);
  const price = await money(page, config.upsell.price, config.currency);
  await expect(checkout.accept('upsell')).toHaveText(`Add for ${price}`);
  await expect(card).toContainText('One-click add · charged now to Visa •••• 4242 · one-time charge');
  await expect(card).toContainText(config.refund_terms);
  await checkout.acceptOffer('upsell');
  await expect(checkout.receiptHeading).toBeFocused();

  const { receipt, charges } = await theOrder(api, email);
  expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'bump', 'upsell']);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
  expect(receipt.total).toBe(sum(receipt.lines.map((l: any) => l.amount)));
  expect(sum(charges.map((c: any) => c.amount))).toBe(receipt.total);
  await expect(checkout.total).toHaveText(await money(page, receipt.total, receipt.currency));
  await expect(checkout.root.getByRole('list', { name: 'Charges' }).getByRole('listitem')).toHaveCount(2);

  await expect.poll(() => eventTypes(page)).toContain('momentum:receipt_shown');
  const funnel = (await events(page)).filter((e) => /sell_|receipt_shown/.test(e.type));
  expect(funnel.map((e) => e.type)).toEqual(['momentum:upsell_offered', 'momentum:upsell_accepted', 'momentum:receipt_shown']);
  for (const e of funnel.slice(0, 2)) {
    expect(e.detail).toMatchObject({ order: receipt.order_id, offer: 'creator-course', amount: config.upsell.price });
    expect(e.detail).toHaveProperty('variant');
  }
  expect(JSON.stringify(await events(page))).not.toMatch(/tok_|osec_|rsm_/);
});

test('no thanks, then the downsell accepted: it is the second charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  const config = await offer(api);
  await pay(checkout, email);
  await checkout.declineOffer('upsell');
  await expect(checkout.offer('downsell').getByRole('heading', { level: 2 })).toBeFocused();
  await expect(checkout.accept('downsell')).toHaveText(`Add for ${await money(page, config.downsell.price, config.currency)}`);
  await checkout.acceptOffer('downsell');
  await expect(checkout.receiptHeading).toBeFocused();
  const { receipt, charges } = await theOrder(api, email);
  expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'downsell']);
  expect(charges.map((c: any) => [c.kind, c.amount])).toEqual([['primary', receipt.lines[0].amount], ['downsell', config.downsell.price]]);
  await expect.poll(() => eventTypes(page)).toContain('momentum:receipt_shown');
  expect((await eventTypes(page)).filter((t) => t.includes('sell_'))).toEqual([
    'momentum:upsell_offered', 'momentum:upsell_declined', 'momentum:downsell_offered', 'momentum:downsell_accepted',
  ]);
});

test('no thanks to both: one charge, the product alone on the receipt', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await pay(checkout, email);
  await checkout.skipOffers();
  const { receipt, charges } = await theOrder(api, email);
  expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product']);
  expect(charges).toHaveLength(1);
  expect(receipt.offers).toMatchObject({ upsell: 'declined', downsell: 'declined' });
});

for (const outcome of ['approve', 'fail'] as const) {
  test(`the upsell needs 3-D Secure: ${outcome}`, async ({ page, api }, info) => {
    const checkout = new Checkout(page);
    const email = buyer(info);
    await pay(checkout, email, CARDS.addonThreeDS);
    await checkout.acceptOffer('upsell');
    await expect(checkout.challenge).toBeVisible();
    const bank = checkout.challenge.frameLocator('iframe');
    await bank.getByRole('button', { name: outcome === 'approve' ? 'Approve payment' : 'Fail authentication' }).click();
    await expect(checkout.receiptHeading).toBeFocused();
    const { receipt, charges } = await theOrder(api, email);
    if (outcome === 'approve') {
      expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
      expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'upsell']);
    } else {
      expect(charges.map((c: any) => c.kind)).toEqual(['primary']);
      await expect(checkout.root).toContainText('The add-on was not charged; your purchase stands.');
      await expect.poll(() => eventTypes(page)).toContain('momentum:upsell_failed');
    }
    // Never a downsell after a charged or failed upsell.
    expect(await eventTypes(page)).not.toContain('momentum:downsell_offered');
  });
}

test('the card declines the upsell: a clear message, the receipt, no downsell', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await pay(checkout, email, CARDS.addonDecline);
  await checkout.acceptOffer('upsell');
  await expect(checkout.receiptHeading).toBeFocused();
  await expect(checkout.root).toContainText('The add-on was not charged; your purchase stands.');
  const { receipt, charges } = await theOrder(api, email);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary']);
  expect(receipt.offers).toMatchObject({ upsell: 'failed', downsell: 'closed' });
  const failed = (await events(page)).find((e) => e.type === 'momentum:upsell_failed')!;
  expect(failed.detail).toMatchObject({ order: receipt.order_id, code: 'card_declined' });
  expect(await eventTypes(page)).not.toContain('momentum:downsell_offered');
});

test('10 rapid clicks and a double tap on Accept make one add-on request and one charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  let posts = 0;
  page.on('request', (r) => r.method() === 'POST' && addonPosts(r.url()) && posts++);
  const email = buyer(info);
  await pay(checkout, email);
  const accept = checkout.accept('upsell');
  await expect(accept).toHaveAttribute('aria-disabled', 'false');
  const box = (await accept.boundingBox())!;
  const [x, y] = [box.x + box.width / 2, box.y + box.height / 2];
  if (info.project.use.hasTouch) {
    await page.touchscreen.tap(x, y);
    await page.touchscreen.tap(x, y);
  }
  for (let i = 0; i < 10; i++) await page.mouse.click(x, y);
  await expect(checkout.receiptHeading).toBeVisible();
  expect(posts).toBe(1);
  const { charges } = await theOrder(api, email);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
});

test('Accept and No thanks ignore trusted clicks in their first half second on screen', async ({ page, api }, info) => {
  // The page's clock is frozen before paying (the payment itself needs no timers), so "the first
  // half second" on screen is exact however slow the machine is.
  await page.clock.install();
  await page.reload();
  const checkout = new Checkout(page);
  let posts = 0;
  page.on('request', (r) => r.method() === 'POST' && /\/(addons|decline)$/.test(r.url()) && posts++);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
  await checkout.pay.click();
  const accept = checkout.accept('upsell');
  await expect(accept).toBeVisible();
  await expect(accept).toHaveAttribute('aria-disabled', 'true');
  await accept.click({ force: true }); // not yet painted
  await page.clock.runFor(100); // painted: 0 ms on screen
  await accept.click({ force: true });
  await page.clock.runFor(390); // ~490 ms on screen
  await accept.click({ force: true });
  await checkout.noThanks('upsell').click({ force: true });
  expect(posts).toBe(0);
  await expect(accept).toHaveAttribute('aria-disabled', 'true');
  await page.clock.runFor(100); // well past 500 ms: armed
  await expect(accept).toHaveAttribute('aria-disabled', 'false');
  await page.clock.resume();
  await accept.click();
  await expect(checkout.receiptHeading).toBeFocused();
  expect(posts).toBe(1);
  expect((await theOrder(api, email)).charges).toHaveLength(2);
});

test('add-on response lost after the charge: "checking", the same key, exactly one charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const keys = await loseFirstAnswer(page, (url) => addonPosts(url.href));
  const email = buyer(info);
  await pay(checkout, email);
  await checkout.acceptOffer('upsell');
  await expect(checkout.offer('upsell').getByRole('status')).toHaveText(/Checking your payment/);
  await expect(checkout.receiptHeading).toBeFocused();
  expect(keys.length).toBeGreaterThanOrEqual(2);
  expect(new Set(keys).size).toBe(1);
  const { receipt, charges } = await theOrder(api, email);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
  await expect(checkout.total).toHaveText(await money(page, receipt.total, receipt.currency));
});

test('a reload during the offers resumes where the order stands, with no second charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await pay(checkout, email);
  const stored = await page.evaluate(() => JSON.stringify(sessionStorage));
  expect(stored).toContain('rsm_');
  expect(stored).not.toContain('osec_'); // the order secret never leaves memory
  await page.reload();
  await expect(checkout.offer('upsell').getByRole('heading', { level: 2 })).toBeFocused();
  await expect(checkout.pay).toHaveCount(0);
  await checkout.declineOffer('upsell');
  await expect(checkout.offer('downsell')).toBeVisible();
  await page.reload();
  // The answered upsell is not shown again.
  await expect(checkout.offer('downsell')).toBeVisible();
  await expect(checkout.offer('upsell')).toHaveCount(0);
  await checkout.acceptOffer('downsell');
  await expect(checkout.receiptHeading).toBeFocused();
  expect(await page.evaluate(() => JSON.stringify(sessionStorage))).not.toContain('rsm_');
  const { receipt, charges } = await theOrder(api, email);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'downsell']);
  expect(receipt.offers).toMatchObject({ upsell: 'declined', downsell: 'accepted' });
  // After the receipt, a reload is a fresh checkout.
  await page.reload();
  await expect(checkout.pay).toHaveText(/^Pay .+/);
});

test('axe: 0 violations with the upsell card and its 3-D Secure dialog open', async ({ page, axe }, info) => {
  const checkout = new Checkout(page);
  await pay(checkout, buyer(info), CARDS.addonThreeDS);
  expect(await axe()).toEqual([]);
  await checkout.acceptOffer('upsell');
  await expect(checkout.challenge).toBeVisible();
  expect(await axe()).toEqual([]);
});

test('the card takes the checkout\'s place on a desktop and is a bottom sheet that fits 320 px on a phone', async ({ page }, info) => {
  const phone = !!info.project.use.isMobile;
  if (phone) await page.setViewportSize({ width: 320, height: 640 });
  const checkout = new Checkout(page);
  await pay(checkout, buyer(info));
  const card = checkout.offer('upsell');
  await expect(checkout.pay).toHaveCount(0);
  await card.evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));
  const isSheet = await card.evaluate((el) => el.matches(':popover-open'));
  expect(isSheet).toBe(phone);
  const box = (await card.boundingBox())!;
  const viewport = page.viewportSize()!;
  if (phone) {
    expect(box.x).toBe(0);
    expect(box.width).toBe(320);
    expect(Math.round(box.y + box.height)).toBe(viewport.height); // docked to the bottom
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(viewport.width);
  for (const kind of ['upsell'] as AddOn[]) {
    for (const button of [checkout.accept(kind), checkout.noThanks(kind)]) {
      const b = (await button.boundingBox())!;
      expect(Math.min(b.width, b.height)).toBeGreaterThanOrEqual(44);
    }
  }
});

test('the payment banner shows the order id on one line, whole when copied, on a 320 px phone too', async ({ page }, info) => {
  if (info.project.use.isMobile) await page.setViewportSize({ width: 320, height: 640 });
  const checkout = new Checkout(page);
  await pay(checkout, buyer(info));
  const banner = checkout.root.locator('.m-paid');
  const id = banner.getByTestId('order-id');
  await expect(banner).toContainText('Payment received');
  const orderId = (await id.textContent())!;
  expect(orderId).toMatch(/^ord_\w+$/);
  const layout = await id.evaluate((el) => {
    const card = el.closest('.m-paid')!.getBoundingClientRect();
    const box = el.getBoundingClientRect();
    const selection = getSelection()!;
    selection.selectAllChildren(el);
    return {
      lines: el.getClientRects().length,
      height: box.height,
      inside: box.left >= card.left && box.right <= card.right,
      selectAll: getComputedStyle(el).userSelect,
      copied: selection.toString(),
    };
  });
  expect(layout).toMatchObject({ lines: 1, inside: true, selectAll: 'all', copied: orderId });
  expect(layout.height).toBeLessThanOrEqual(30); // one 24 px line, not two
});

test('two widgets for the same offer keep their own orders across a reload', async ({ page, api }, info) => {
  await page.goto('/same-offer-twice.html');
  const top = new Checkout(page, page.getByRole('region', { name: 'At the top' }).locator('momentum-checkout'));
  const bottom = new Checkout(page, page.getByRole('region', { name: 'At the bottom' }).locator('momentum-checkout'));
  await expect(bottom.pay).toHaveText(/^Pay .+/);
  const email = buyer(info);
  await pay(top, email);
  await page.reload();
  await expect(top.offer('upsell').getByRole('heading', { level: 2 })).toBeFocused();
  await expect(bottom.pay).toHaveText(/^Pay .+/);
  await expect(bottom.offer('upsell')).toHaveCount(0);
  await top.declineOffer('upsell');
  await top.declineOffer('downsell');
  await expect(top.receiptHeading).toBeVisible();
  await expect(bottom.pay).toBeVisible();
  expect((await theOrder(api, email)).charges).toHaveLength(1);
});

test('cancelling the add-on\'s 3-D Secure: nothing more charged, the receipt, upsell_failed says why', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await pay(checkout, email, CARDS.addonThreeDS);
  await checkout.acceptOffer('upsell');
  await expect(checkout.challenge).toBeVisible();
  await checkout.challenge.getByRole('button', { name: 'Cancel payment' }).click();
  await expect(checkout.receiptHeading).toBeFocused();
  await expect(checkout.root).toContainText('Authentication was canceled, so the add-on was not charged.');
  const failed = (await events(page)).find((e) => e.type === 'momentum:upsell_failed')!;
  expect(failed.detail).toMatchObject({ code: 'authentication_canceled' });
  expect((await theOrder(api, email)).charges.map((c: any) => c.kind)).toEqual(['primary']);
});
