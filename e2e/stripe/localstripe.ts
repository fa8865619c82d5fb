// localstripe, the fake Stripe the Stripe suite runs against: where it listens, the keys the
// backend uses, and reads of its state (what Stripe has charged, to count charges on both sides).
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const STRIPE_ORIGIN = process.env.MOMENTUM_STRIPE_ORIGIN ?? 'http://127.0.0.1:4512';
export const STRIPE_SECRET_KEY = 'sk_test_momentum_e2e';
export const STRIPE_PUBLISHABLE_KEY = 'pk_test_momentum_e2e';
export const STRIPE_WEBHOOK_SECRET = 'whsec_momentum_e2e';

/** Stripe's test cards (localstripe knows these). */
export const STRIPE_CARDS = {
  ok: '4242424242424242',
  decline: '4000000000000002',
  /** 3-D Secure on every payment (localstripe; Stripe: once per saved card). */
  threeDS: '4000002500003155',
  /** 3-D Secure on every payment, add-ons included. */
  alwaysThreeDS: '4000002760003184',
};
/** A SEPA debit localstripe keeps `processing`, then fails (with a signed webhook). */
export const FAILING_IBAN = 'DE62370400440532013001';

const auth = { authorization: `Bearer ${STRIPE_SECRET_KEY}` };

/** Every PaymentIntent localstripe has for the given orders (by our metadata). */
export async function intentsOf(api: APIRequestContext, orderIds: string[]) {
  const all: any[] = [];
  let after: string | undefined;
  for (;;) {
    const query = `limit=100${after ? `&starting_after=${after}` : ''}`;
    const response = await api.get(`${STRIPE_ORIGIN}/v1/payment_intents?${query}`, { headers: auth });
    expect(response.ok()).toBeTruthy();
    const page = await response.json();
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) break;
    after = page.data[page.data.length - 1].id;
  }
  return all.filter((pi) => orderIds.includes(pi.metadata.momentum_order_id));
}

/** Refunds localstripe has for a PaymentIntent. */
export async function refundsOf(api: APIRequestContext, intent: string) {
  const response = await api.get(`${STRIPE_ORIGIN}/v1/refunds?payment_intent=${intent}`, { headers: auth });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).data as any[];
}

/** A SEPA debit PaymentMethod (made with the secret key, as a test; shoppers never do this). */
export async function failingSepaMethod(api: APIRequestContext) {
  const response = await api.post(`${STRIPE_ORIGIN}/v1/payment_methods`, {
    headers: auth,
    form: { type: 'sepa_debit', 'sepa_debit[iban]': FAILING_IBAN },
  });
  expect(response.ok()).toBeTruthy();
  return (await response.json()).id as string;
}

/** Sends localstripe's webhooks (signed with the backend's secret) to the backend. */
export async function sendWebhooksTo(api: APIRequestContext, url: string) {
  const response = await api.post(`${STRIPE_ORIGIN}/_config/webhooks/momentum`, {
    form: { url, secret: STRIPE_WEBHOOK_SECRET },
  });
  expect(response.ok()).toBeTruthy();
}

/**
 * localstripe's fake Stripe.js declares `class Element` at the top level of a classic script, which
 * shadows the DOM's `Element` for every script on the page (the widget's `instanceof Element` checks
 * then fail and it renders nothing). Stripe's own Stripe.js defines no global but `Stripe`. So the
 * page gets the fake in a function scope: the same code, its globals kept to `Stripe`
 * (docs/backends.md).
 */
export async function scopeFakeStripeJs(page: Page) {
  await page.route(`${STRIPE_ORIGIN}/js.stripe.com/v3/`, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `(function () {\n${await response.text()}\n})();\n` });
  });
}
