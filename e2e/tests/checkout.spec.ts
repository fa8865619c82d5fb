import type { Request } from '@playwright/test';
import { test, expect, offer } from '../support/test';
import { Checkout, CARDS, ADMIN_KEY, buyer, ordersOf, money, loseFirstAnswer } from '../support/checkout';
import { events, eventTypes } from '../support/widget';
import { API_ORIGIN } from '../support/origins';

test.beforeEach(async ({ page }) => {
  await page.goto('/checkout.html');
  await expect(new Checkout(page).pay).toHaveText(/^Pay .+/);
});

test('buys without the bump: itemized receipt that adds up, exactly one charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  // The refund terms are read before paying, not only on the receipt.
  await expect(checkout.root.locator('form.m-checkout')).toContainText((await offer(api)).refund_terms);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await checkout.skipOffers();
  const { orders, charges } = await ordersOf(api, email);
  expect(orders).toHaveLength(1);
  expect(charges).toHaveLength(1);
  const receipt = orders[0].receipt;
  expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product']);
  expect(charges[0].amount).toBe(receipt.total);
  await expect(checkout.total).toHaveText(await money(page, receipt.total, receipt.currency));
  await expect(checkout.orderId).toHaveText(orders[0].order_id);
  await expect(checkout.root.getByRole('list', { name: 'Charges' })).toContainText('charged to Visa •••• 4242');
  await expect.poll(() => eventTypes(page)).toEqual([
    'momentum:ready', 'momentum:checkout_initiated', 'momentum:checkout_completed',
    'momentum:upsell_offered', 'momentum:upsell_declined', 'momentum:downsell_offered', 'momentum:downsell_declined',
    'momentum:receipt_shown',
  ]);
  const completed = (await events(page)).find((e) => e.type === 'momentum:checkout_completed')!;
  expect(completed.detail).toMatchObject({ offer: 'creator-course', order: orders[0].order_id, total: receipt.total });
  expect(JSON.stringify(await events(page))).not.toContain('tok_');
});

test('ticking the bump updates lines and total in the same frame, then pays both', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  let quoteRequests = 0;
  page.on('request', (r) => r.url().endsWith('/v1/quotes') && quoteRequests++);
  const before = quoteRequests;
  const totalBefore = await checkout.total.textContent();
  // Same frame: the new total is in the DOM before the next frame is painted, with no request.
  const totalInNextFrame = await checkout.bump.evaluate(
    (box: HTMLInputElement) =>
      new Promise<string>((resolve) => {
        box.click();
        const root = box.getRootNode() as ShadowRoot;
        requestAnimationFrame(() => resolve(root.querySelector('[data-testid=total]')!.textContent!));
      }),
  );
  expect(totalInNextFrame).not.toBe(totalBefore);
  expect(quoteRequests).toBe(before);
  await expect(checkout.bump).toBeChecked();
  await expect(checkout.total).toHaveText(totalInNextFrame);
  await expect(checkout.root.locator('tr[data-line=bump]')).toBeVisible();
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await checkout.skipOffers();
  const { orders, charges } = await ordersOf(api, email);
  expect(orders[0].receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'bump']);
  expect(charges.map((c: any) => c.amount)).toEqual([orders[0].receipt.total]);
  await expect(checkout.total).toHaveText(totalInNextFrame); // the receipt charged what was shown
  const toggled = (await events(page)).filter((e) => e.type === 'momentum:bump_toggled');
  expect(toggled.map((e) => e.detail.checked)).toEqual([true]);
});

test('a decline shows the provider message; a new card then succeeds with a new key', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const keys: string[] = [];
  page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/orders') && keys.push(r.headers()['idempotency-key']));
  const email = buyer(info);
  await checkout.fill(email, CARDS.decline);
  await checkout.pay.click();
  await expect(checkout.paymentError).toHaveText('Your card was declined.');
  await expect(checkout.root.getByRole('group', { name: 'Payment' })).toHaveAccessibleDescription('Your card was declined.');
  await checkout.card.fill(CARDS.ok);
  await checkout.pay.click();
  await checkout.skipOffers();
  expect(new Set(keys).size).toBe(2);
  const { orders, charges } = await ordersOf(api, email);
  expect(orders.map((o: any) => o.status)).toEqual(['declined', 'paid']);
  expect(charges).toHaveLength(1);
  expect((await events(page)).filter((e) => e.type === 'momentum:payment_failed').map((e) => e.detail.code)).toEqual(['card_declined']);
});

for (const outcome of ['approve', 'fail'] as const) {
  test(`3-D Secure: ${outcome}`, async ({ page, api }, info) => {
    const checkout = new Checkout(page);
    const email = buyer(info);
    await checkout.fill(email, CARDS.threeDS);
    await checkout.pay.click();
    await expect(checkout.challenge).toBeVisible();
    const bank = checkout.challenge.frameLocator('iframe');
    await bank.getByRole('button', { name: outcome === 'approve' ? 'Approve payment' : 'Fail authentication' }).click();
    if (outcome === 'approve') {
      await checkout.skipOffers();
    } else {
      await expect(checkout.paymentError).not.toBeEmpty();
      await expect(checkout.challenge).toBeHidden();
    }
    const { charges } = await ordersOf(api, email);
    expect(charges).toHaveLength(outcome === 'approve' ? 1 : 0);
  });
}

test('closing the 3-D Secure dialog charges nothing and lets the shopper retry', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.fill(email, CARDS.threeDS);
  await checkout.pay.click();
  await expect(checkout.challenge).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(checkout.challenge).toBeHidden();
  await expect(checkout.paymentError).toContainText('nothing was charged');
  expect((await ordersOf(api, email)).charges).toHaveLength(0);
});

test('closing the 3-D Secure dialog cancels the payment at the backend, so a late approval at the bank charges nothing', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  const cancels: Request[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/cancel')) cancels.push(r);
  });
  await checkout.fill(email, CARDS.threeDS);
  await checkout.pay.click();
  await expect(checkout.challenge).toBeVisible();
  const bank = await checkout.challenge.locator('iframe').getAttribute('src');
  const canceled = page.waitForResponse((r) => r.url().endsWith('/cancel'));
  await checkout.challenge.getByRole('button', { name: 'Cancel payment' }).click();
  await expect(checkout.paymentError).toContainText('nothing was charged');
  expect((await canceled).status()).toBe(200);
  const { orders } = await ordersOf(api, email);
  expect(cancels).toHaveLength(1);
  expect(cancels[0].url()).toBe(`${API_ORIGIN}/v1/orders/${orders[0].order_id}/cancel`);
  expect(cancels[0].postData()).toBe('{"target":"order"}');
  expect((await cancels[0].allHeaders())['authorization']).toMatch(/^Bearer osec_/);
  // The bank's page, left open elsewhere, is approved after all: the order stays declined.
  expect((await api.post(bank!, { form: { outcome: 'approve' } })).ok()).toBeTruthy();
  const after = await ordersOf(api, email);
  expect(after.orders.map((o: any) => o.status)).toEqual(['declined']);
  expect(after.charges).toHaveLength(0);
});

test('a processing payment is polled until it settles, and only then comes the upsell', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.fill(email, CARDS.processing);
  await checkout.pay.click();
  await expect(checkout.status).toHaveText(/processing/i);
  await expect(checkout.offer('upsell')).toHaveCount(0); // never an upsell before "paid"
  await checkout.skipOffers();
  expect((await ordersOf(api, email)).charges).toHaveLength(1);
});

test('10 rapid clicks on Pay make one request and one charge', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  let posts = 0;
  page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/orders') && posts++);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  // Raw, trusted mouse clicks as fast as the browser takes them (no actionability waits).
  await checkout.pay.scrollIntoViewIfNeeded();
  const box = (await checkout.pay.boundingBox())!;
  for (let i = 0; i < 10; i++) await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await checkout.skipOffers();
  expect(posts).toBe(1);
  const { orders, charges } = await ordersOf(api, email);
  expect([orders.length, charges.length]).toEqual([1, 1]);
});

test('a scripted (untrusted) click on Pay does nothing', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  let posts = 0;
  page.on('request', (r) => r.method() === 'POST' && r.url().endsWith('/v1/orders') && posts++);
  await checkout.pay.evaluate((button: HTMLButtonElement) => button.click());
  await checkout.pay.dispatchEvent('click');
  // A trusted click would have made the button busy synchronously.
  await expect(checkout.pay).toHaveAttribute('aria-disabled', 'false');
  expect(posts).toBe(0);
  expect((await ordersOf(api, email)).orders).toHaveLength(0);
  // The same button still works for a real click.
  await checkout.pay.click();
  await checkout.skipOffers();
  expect((await ordersOf(api, email)).charges).toHaveLength(1);
});

test('response lost after the charge: "checking", same key, one charge, correct receipt', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const keys = await loseFirstAnswer(page, (url) => url.href === `${API_ORIGIN}/v1/orders`);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await checkout.skipOffers();
  expect(keys.length).toBeGreaterThanOrEqual(2);
  expect(new Set(keys).size).toBe(1);
  const { orders, charges } = await ordersOf(api, email);
  expect([orders.length, charges.length]).toEqual([1, 1]);
  await expect(checkout.total).toHaveText(await money(page, orders[0].receipt.total, orders[0].receipt.currency));
});

test('a missing email is an error tied to its field, and nothing is sent', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  await checkout.card.fill(CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.email).toHaveAttribute('aria-invalid', 'true');
  await expect(checkout.email).toHaveAccessibleDescription(/Enter your email address/);
  expect((await ordersOf(api, buyer(info))).orders).toHaveLength(0);
});

test('card fields bring up the numeric keypad; touch targets are at least 44 px', async ({ page }) => {
  const checkout = new Checkout(page);
  await expect(checkout.card).toHaveAttribute('inputmode', 'numeric');
  await checkout.expectTouchTargets();
});

test('axe: 0 violations on the checkout, in the 3-D Secure dialog and on the receipt', async ({ page, axe }, info) => {
  const checkout = new Checkout(page);
  expect(await axe()).toEqual([]);
  await checkout.fill(buyer(info), CARDS.threeDS);
  await checkout.pay.click();
  await expect(checkout.challenge).toBeVisible();
  expect(await axe()).toEqual([]);
  await checkout.challenge.frameLocator('iframe').getByRole('button', { name: 'Approve payment' }).click();
  await checkout.skipOffers();
  expect(await axe()).toEqual([]);
});

test('at 320 px the checkout has no horizontal scroll', async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  await expect(new Checkout(page).pay).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
});

test('an offer repriced between the quote and Pay: nothing charged, the new total shown, then charged exactly', async ({ page, api }, info) => {
  const id = `repriced-${info.project.name}-${Date.now().toString(36)}`;
  const base = await (await api.get('/v1/offers/creator-course')).json();
  const put = (price: number) =>
    api.put(`/v1/offers/${id}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      data: { ...base, id, product: { ...base.product, price }, variants: [] },
    });
  expect((await put(4900)).ok()).toBeTruthy();
  await page.goto(`/any-offer.html?offer=${id}`);
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(`Pay ${await money(page, 4900, 'EUR')}`);
  expect((await put(5900)).ok()).toBeTruthy(); // the creator raises the price meanwhile
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.paymentError).toHaveText('The price has changed since it was shown. Check the new total, then pay again.');
  await expect(checkout.pay).toHaveText(`Pay ${await money(page, 5900, 'EUR')}`);
  expect((await ordersOf(api, email)).charges).toHaveLength(0);
  const failed = (await events(page)).find((e) => e.type === 'momentum:payment_failed')!;
  expect(failed.detail).toMatchObject({ code: 'price_changed' });
  await checkout.pay.click();
  await expect(checkout.offer('upsell')).toBeVisible();
  const { charges } = await ordersOf(api, email);
  expect(charges.map((c: any) => c.amount)).toEqual([5900]);
});
