// The critical path (issue 11): the loader asks for the offer and its quotes while the wasm
// downloads, and what follows the payment (the add-on cards) or a shopper leaving (the exit offer)
// comes in a lazily fetched chunk. A chunk that cannot be fetched costs the shopper nothing.
import { test, expect } from '../support/test';
import { Checkout, CARDS, buyer, ordersOf } from '../support/checkout';
import { events } from '../support/widget';
import { API_ORIGIN } from '../support/origins';

const CHUNK = /\/split_[a-z_]+\.wasm$/;

test('one request brings the offer and its quotes; the chunk comes from beside the loader before Pay', async ({ page }) => {
  const api: string[] = [];
  page.on('request', (r) => r.url().includes('/v1/') && api.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
  const chunk = page.waitForRequest(CHUNK);
  await page.goto('/checkout.html');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  // Relative to momentum.js's own URL, so a creator can self-host the folder.
  expect(new URL((await chunk).url()).href).toMatch(new RegExp(`^${API_ORIGIN}/split_[a-z_]+\\.wasm$`));
  expect(api.filter((r) => !r.startsWith('POST /v1/events'))).toEqual([
    'GET /v1/offers/creator-course/checkout?country=IE',
  ]);
});

test('with the chunk unreachable, the payment succeeds once and the itemized receipt shows, with no add-on', async ({ page, api }, info) => {
  await page.route(CHUNK, (route) => route.abort('internetdisconnected'));
  await page.goto('/checkout.html');
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.bump.check();
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.receiptHeading).toBeVisible();
  await expect(checkout.offer('upsell')).toHaveCount(0);
  const { orders, charges } = await ordersOf(api, email);
  expect(charges).toHaveLength(1);
  expect(orders[0].receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'bump']);
  await expect(checkout.root.getByRole('list', { name: 'Charges' }).getByRole('listitem')).toHaveCount(1);
  // The page hears why: the exit offer and the add-on card were skipped.
  await expect
    .poll(async () => (await events(page)).filter((e) => e.type === 'momentum:error').map((e) => e.detail.code))
    .toEqual(['chunk_failed', 'chunk_failed']);
});

test('a backend without the checkout-start endpoint still gets a working checkout, through the calls it has', async ({ page }) => {
  await page.route(/\/checkout\?country=/, (route) =>
    route.fulfill({ status: 404, contentType: 'application/json', headers: { 'access-control-allow-origin': '*' }, body: '{"error":{"code":"not_found","message":"no route"}}' }),
  );
  const api: string[] = [];
  page.on('request', (r) => r.url().includes('/v1/') && !r.url().endsWith('/v1/events') && api.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.goto('/checkout.html');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  await expect(checkout.pay).toBeEnabled();
  expect(api).toEqual(['GET /v1/offers/creator-course/checkout', 'GET /v1/offers/creator-course', 'POST /v1/quotes']);
});
