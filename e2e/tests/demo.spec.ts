// The demo that `cargo xtask demo` serves (index.html from dist/, same origin as the backend), walked
// through as a newcomer would: buy with the bump, answer the add-on cards, read the receipt.
import { test, expect } from '../support/test';
import { Checkout, CARDS, buyer, ordersOf, money } from '../support/checkout';
import { API_ORIGIN } from '../support/origins';
import type { Page } from '@playwright/test';

/** Nothing on the page is wider than the viewport (the demo's layout is a CSS grid, which grows to
 * its items' min-content width). */
const fitsTheViewport = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= innerWidth);

test.beforeEach(async ({ page }) => {
  await page.goto(`${API_ORIGIN}/`);
  await expect(new Checkout(page).pay).toHaveText(/^Pay .+/);
});

test('demo: the bump, then yes to the upsell: a receipt of three lines, two charges', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.bump.check();
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.offer('upsell')).toBeVisible();
  expect(await fitsTheViewport(page)).toBe(true); // the order id in the banner widens nothing
  await checkout.acceptOffer('upsell');
  await expect(checkout.receiptHeading).toBeFocused();
  expect(await fitsTheViewport(page)).toBe(true);
  const { orders, charges } = await ordersOf(api, email);
  const receipt = orders[0].receipt;
  expect(receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'bump', 'upsell']);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
  await expect(checkout.total).toHaveText(await money(page, receipt.total, receipt.currency, 'en-US'));
  for (const line of receipt.lines) await expect(checkout.root.locator(`tr[data-line=${line.id}]`)).toBeVisible();
  await expect(checkout.root.getByRole('list', { name: 'Charges' }).getByRole('listitem')).toHaveCount(2);
});

test('demo: no to the upsell, yes to the downsell: the downsell on its own line', async ({ page, api }, info) => {
  const checkout = new Checkout(page);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await checkout.declineOffer('upsell');
  await checkout.acceptOffer('downsell');
  await expect(checkout.receiptHeading).toBeFocused();
  const { orders, charges } = await ordersOf(api, email);
  expect(orders[0].receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'downsell']);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'downsell']);
  expect(orders[0].receipt.offers).toMatchObject({ upsell: 'declined', downsell: 'accepted' });
});
