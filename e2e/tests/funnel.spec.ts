// The funnel the widget reports to the creator's backend (POST /v1/events): batched, CORS-simple,
// flushed when the page is hidden, and carrying no token, e-mail or card data.
import type { Request } from '@playwright/test';
import { test, expect } from '../support/test';
import { Checkout, CARDS, ADMIN_KEY, buyer } from '../support/checkout';

test('a purchase with an accepted upsell reports each step once, with no personal or payment data', async ({ page }, info) => {
  const batches: Request[] = [];
  page.on('request', (r) => r.url().endsWith('/v1/events') && batches.push(r));
  await page.goto('/checkout.html');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  const email = buyer(info);
  await checkout.bump.check();
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await checkout.acceptOffer('upsell');
  await expect(checkout.receiptHeading).toBeFocused();
  // The receipt flushes at once; everything before it went in the same or earlier batches.
  const names = () => batches.flatMap((r) => r.postDataJSON().events.map((e: any) => e.name));
  await expect.poll(names).toContain('receipt_shown');
  expect(names()).toEqual([
    'checkout_viewed', 'checkout_initiated', 'bump_toggled', 'paid', 'upsell_offered', 'upsell_accepted', 'receipt_shown',
  ]);
  for (const request of batches) {
    // CORS-simple, so a closing tab never waits for a preflight.
    expect(request.headers()['content-type']).toMatch(/^text\/plain/);
    const body = request.postData()!;
    expect(body).not.toContain(email);
    expect(body).not.toMatch(/tok_|osec_|rsm_|4242 ?4242/);
    const batch = JSON.parse(body);
    expect(Object.keys(batch).sort()).toEqual(['currency', 'events', 'holdout', 'offer_id', 'variant', 'visit_id']);
    expect(batch).toMatchObject({ offer_id: 'creator-course', currency: 'EUR', holdout: false });
    expect(batch.visit_id).toMatch(/^[0-9a-f]{32}$/);
    expect((await request.response())?.status()).toBe(202);
  }
  const toggled = batches.flatMap((r) => r.postDataJSON().events).find((e: any) => e.name === 'bump_toggled');
  expect(toggled.checked).toBe(true);
});

test('events still queued when the shopper leaves are delivered as the page goes', async ({ page, api }, info) => {
  // Playwright does not report a request the page sends while it unloads, so ask the backend.
  const id = `leaving-${info.project.name}-${Date.now().toString(36)}`;
  const base = await (await api.get('/v1/offers/creator-course')).json();
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  expect((await api.put(`/v1/offers/${id}`, { headers: admin, data: { ...base, id, variants: [] } })).ok()).toBeTruthy();
  await page.goto(`/any-offer.html?offer=${id}`);
  const checkout = new Checkout(page);
  await expect(checkout.pay).toHaveText(/^Pay .+/);
  await checkout.email.fill('someone@example.com'); // checkout_initiated: queued for a few seconds
  await page.goto('/plain.html'); // leaving flushes the queue (pagehide / hidden, keepalive)
  const steps = async () => {
    const metrics = await (await api.get(`/v1/admin/metrics?offer=${id}`, { headers: admin })).json();
    return metrics.groups[0]?.totals && metrics.groups[0].arms[0].funnel.steps;
  };
  await expect.poll(steps).toMatchObject({ checkout_viewed: 1, checkout_initiated: 1, paid: 0 });
});
