// The holdout: a share of shoppers sees the product alone, so the dashboard can show what the
// offers add. Each test pins the shopper's bucket (localStorage, `sticky: 'browser'`).
import { test, expect } from '../support/test';
import { Checkout, CARDS, ADMIN_KEY, buyer, ordersOf } from '../support/checkout';
import { bucketWhere, inHoldout, pinBucket, variantOf } from '../support/arms';

async function putOffer(api: any, id: string, holdout: object) {
  const base = await (await api.get('/v1/offers/creator-course')).json();
  const response = await api.put(`/v1/offers/${id}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    data: { ...base, id, holdout },
  });
  expect(response.ok()).toBeTruthy();
  return base;
}

test('a held-out shopper sees no bump, no exit offer and no add-on cards, and the order says holdout', async ({ page, api }, info) => {
  const id = `held-${info.project.name}-${Date.now().toString(36)}`;
  await putOffer(api, id, { percent: 50, hide_bump: true });
  const bucket = bucketWhere((b) => inHoldout(b, 50));
  await page.addInitScript(pinBucket, String(bucket));
  await page.goto(`/any-offer.html?offer=${id}`);
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  await expect(checkout.bump).toHaveCount(0);
  await expect(checkout.root.getByRole('dialog', { includeHidden: true })).toHaveCount(0);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  const order = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/v1/orders'));
  await checkout.pay.click();
  expect((await order).postDataJSON()).toMatchObject({ holdout: true });
  await expect(checkout.receiptHeading).toBeFocused(); // straight to the receipt: no add-on card
  const { orders, charges } = await ordersOf(api, email);
  expect(orders[0].receipt).toMatchObject({ holdout: true, offers: { upsell: 'not_available', downsell: 'not_available' } });
  expect(orders[0].receipt.variant).toBeUndefined();
  expect(charges).toHaveLength(1);
});

test('a shopper outside the holdout gets the variant the bucket assigns and the usual offers', async ({ page, api }, info) => {
  const id = `held-out-not-${info.project.name}-${Date.now().toString(36)}`;
  const base = await putOffer(api, id, { percent: 50 });
  const bucket = bucketWhere((b) => !inHoldout(b, 50) && variantOf(b, base.variants) === 'b');
  await page.addInitScript(pinBucket, String(bucket));
  await page.goto(`/any-offer.html?offer=${id}`);
  const checkout = new Checkout(page);
  await expect(checkout.bump).toBeVisible();
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.offer('upsell')).toBeVisible();
  const { orders } = await ordersOf(api, email);
  expect(orders[0].receipt).toMatchObject({ holdout: false, variant: 'b' });
});
