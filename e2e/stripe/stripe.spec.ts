// The Stripe gateway end to end: the backend's Stripe Elements recipe page on the host origin
// (localstripe's Stripe.js), the widget, the backend with --gateway stripe, and localstripe.
// Every test counts charges on both sides: the backend's receipt and Stripe's PaymentIntents.
import { test, expect } from '../support/test';
import { Checkout, buyer, ordersOf, ADMIN_KEY } from '../support/checkout';
import { cspViolations, eventTypes } from '../support/widget';
import { API_ORIGIN } from '../support/origins';
import { STRIPE_CARDS, failingSepaMethod, intentsOf, refundsOf, scopeFakeStripeJs, sendWebhooksTo } from './localstripe';

/** The checkout with Stripe's card field (localstripe's stands in: plain inputs by placeholder). */
class StripeCheckout extends Checkout {
  stripeField(name: 'number' | 'exp_month' | 'exp_year' | 'cvc') {
    return this.root.getByPlaceholder(name, { exact: true });
  }
  async fillCard(email: string, number: string) {
    await this.email.fill(email);
    await this.stripeField('number').fill(number);
    await this.stripeField('exp_month').fill('12');
    await this.stripeField('exp_year').fill('34');
    await this.stripeField('cvc').fill('123');
  }
  /** Answers the bank in Stripe.js's 3-D Secure step, which the page's adapter runs
   *  (`authenticate`): the widget shows no challenge dialog of its own. */
  async answerBank(approve: boolean) {
    const bank = this.page.getByRole('button', { name: approve ? 'Complete authentication' : 'Fail authentication' });
    await expect(bank).toBeVisible();
    await expect(this.challenge).toHaveCount(0);
    await bank.click();
  }
}

/** Our orders for `email` and their succeeded charges, and Stripe's PaymentIntents for them. */
async function bothSides(api: Parameters<typeof ordersOf>[0], email: string) {
  const { orders, charges } = await ordersOf(api, email);
  const intents = await intentsOf(api, orders.map((o: any) => o.order_id));
  const paid = intents.filter((pi) => pi.status === 'succeeded');
  const amounts = (xs: any[]) => xs.map((x) => x.amount).sort((a, b) => a - b);
  // Exactly one succeeded PaymentIntent per succeeded charge, for the same amounts.
  expect(amounts(paid)).toEqual(amounts(charges));
  expect(paid.map((pi) => pi.metadata.momentum_charge_id).sort()).toEqual(charges.map((c: any) => c.id).sort());
  return { orders, charges, intents };
}

test.beforeAll(async ({ playwright }) => {
  const api = await playwright.request.newContext();
  await sendWebhooksTo(api, `${API_ORIGIN}/v1/webhooks/stripe`);
  await api.dispose();
});

test.beforeEach(async ({ page }) => {
  await scopeFakeStripeJs(page);
  await page.goto('/stripe.html');
  await expect(new Checkout(page).pay).toHaveText(/^Pay .+/);
});

test.afterEach(async ({ page }) => {
  // The recipe's Content-Security-Policy allows everything Stripe.js and the widget do.
  expect(await cspViolations(page)).toEqual([]);
});

async function payAndReachUpsell(checkout: StripeCheckout, email: string, card: string, bump = false) {
  if (bump) await checkout.bump.check();
  await checkout.fillCard(email, card);
  await checkout.pay.click();
}

test('bump and upsell: two charges here, two PaymentIntents at Stripe, card data never at the backend', async ({ page, api }, info) => {
  const checkout = new StripeCheckout(page);
  const email = buyer(info);
  const bodies: string[] = [];
  page.on('request', (r) => r.url().startsWith(API_ORIGIN) && bodies.push(r.postData() ?? ''));
  await payAndReachUpsell(checkout, email, STRIPE_CARDS.ok, true);
  await checkout.acceptOffer('upsell');
  await expect(checkout.receiptHeading).toBeFocused();
  const { orders, charges, intents } = await bothSides(api, email);
  expect(orders[0].receipt.lines.map((l: any) => l.kind)).toEqual(['product', 'bump', 'upsell']);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
  expect(intents).toHaveLength(2);
  expect(orders[0].card).toEqual({ brand: 'visa', last4: '4242' });
  // Only Stripe's token reached the backend, never the number.
  expect(bodies.join('\n')).not.toContain(STRIPE_CARDS.ok);
  expect(bodies.join('\n')).toMatch(/"payment_token":"tok_/);
});

test('no thanks, then the downsell: the second charge', async ({ page, api }, info) => {
  const checkout = new StripeCheckout(page);
  const email = buyer(info);
  await payAndReachUpsell(checkout, email, STRIPE_CARDS.ok);
  await checkout.declineOffer('upsell');
  await checkout.acceptOffer('downsell');
  await expect(checkout.receiptHeading).toBeFocused();
  const { charges, intents } = await bothSides(api, email);
  expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'downsell']);
  expect(intents).toHaveLength(2);
});

for (const approve of [true, false]) {
  test(`3-D Secure on the primary payment: ${approve ? 'approved' : 'failed'}`, async ({ page, api }, info) => {
    const checkout = new StripeCheckout(page);
    const email = buyer(info);
    await payAndReachUpsell(checkout, email, STRIPE_CARDS.threeDS);
    await checkout.answerBank(approve);
    if (approve) {
      await checkout.skipOffers();
    } else {
      await expect(checkout.paymentError).toHaveText('Your bank could not authenticate this payment.');
      await expect(checkout.challenge).toBeHidden();
    }
    const { charges, intents } = await bothSides(api, email);
    expect(charges).toHaveLength(approve ? 1 : 0);
    expect(intents).toHaveLength(1);
  });
}

for (const approve of [true, false]) {
  test(`3-D Secure on the upsell: ${approve ? 'approved' : 'failed'}`, async ({ page, api }, info) => {
    const checkout = new StripeCheckout(page);
    const email = buyer(info);
    await payAndReachUpsell(checkout, email, STRIPE_CARDS.alwaysThreeDS);
    await checkout.answerBank(true); // the primary payment
    await checkout.acceptOffer('upsell');
    await checkout.answerBank(approve);
    await expect(checkout.receiptHeading).toBeFocused();
    if (!approve) await expect(checkout.root).toContainText('The add-on was not charged; your purchase stands.');
    const { charges, intents } = await bothSides(api, email);
    expect(charges.map((c: any) => c.kind)).toEqual(approve ? ['primary', 'upsell'] : ['primary']);
    expect(intents).toHaveLength(2);
    expect(await eventTypes(page)).not.toContain('momentum:downsell_offered');
  });
}

test('a declined card, then another card: one charge on each side', async ({ page, api }, info) => {
  const checkout = new StripeCheckout(page);
  const email = buyer(info);
  await payAndReachUpsell(checkout, email, STRIPE_CARDS.decline);
  await expect(checkout.paymentError).toHaveText('Your card was declined.');
  await checkout.stripeField('number').fill(STRIPE_CARDS.ok);
  await checkout.pay.click();
  await checkout.skipOffers();
  const { orders, charges, intents } = await bothSides(api, email);
  expect(orders.map((o: any) => o.status)).toEqual(['declined', 'paid']);
  expect(charges).toHaveLength(1);
  // localstripe refuses the declining card when it is saved, before any PaymentIntent.
  expect(intents).toHaveLength(1);
});

test('a processing payment: the widget waits, the webhook and polling settle it, nothing is charged', async ({ page, api }, info) => {
  const checkout = new StripeCheckout(page);
  const email = buyer(info);
  // localstripe's Stripe.js makes only card tokens; a SEPA debit (its only asynchronous payment)
  // stands in for the shopper's method here.
  const sepa = await failingSepaMethod(api);
  const statuses: string[] = [];
  await page.route(`${API_ORIGIN}/v1/orders`, async (route) => {
    const body = JSON.parse(route.request().postData() ?? '{}');
    const response = await route.fetch({ postData: JSON.stringify({ ...body, payment_token: sepa }) });
    statuses.push((await response.json()).status);
    await route.fulfill({ response });
  });
  await payAndReachUpsell(checkout, email, STRIPE_CARDS.ok);
  await expect(checkout.paymentError).toHaveText('Your card was declined.');
  expect(statuses).toEqual(['processing']);
  const { orders, charges, intents } = await bothSides(api, email);
  expect(orders.map((o: any) => o.status)).toEqual(['declined']);
  expect(charges).toHaveLength(0);
  expect(intents.map((pi) => pi.status)).toEqual(['requires_payment_method']);
});

test('a refund in the admin API goes through Stripe and reaches the receipt', async ({ page, api }, info) => {
  const checkout = new StripeCheckout(page);
  const email = buyer(info);
  await payAndReachUpsell(checkout, email, STRIPE_CARDS.ok, true);
  await checkout.skipOffers();
  const { orders, intents } = await bothSides(api, email);
  const order = orders[0];
  const bump = order.receipt.lines.find((l: any) => l.kind === 'bump');
  const response = await api.post(`/v1/orders/${order.order_id}/lines/bump/refund`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    data: { reason: 'changed my mind' },
  });
  expect(response.status()).toBe(200);
  const { refund } = await response.json();
  const after = (await ordersOf(api, email)).orders[0].receipt;
  expect(after.lines.find((l: any) => l.kind === 'bump').refunded).toBe(true);
  expect(after.refunded).toBe(bump.amount);
  expect(after.net).toBe(after.total - bump.amount);
  const atStripe = await refundsOf(api, intents[0].id);
  expect(atStripe.map((r) => [r.amount, r.metadata.momentum_refund_id])).toEqual([[bump.amount, refund.id]]);
});
