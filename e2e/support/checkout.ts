import { expect, type APIRequestContext, type Locator, type Page, type TestInfo } from '@playwright/test';

/** The reference backend's demo admin key (the e2e server runs without --admin-key). */
export const ADMIN_KEY = 'sk_test_momentum_admin';

/** Test cards of the reference backend's test gateway (docs/api.md). */
export const CARDS = {
  ok: '4242 4242 4242 4242',
  decline: '4000 0000 0000 0002',
  threeDS: '4000 0025 0000 3155',
  processing: '4000 0000 0000 0150',
  /** Pays; then declines any add-on. */
  addonDecline: '4000 0000 0000 0341',
  /** Pays; then every add-on needs 3-D Secure. */
  addonThreeDS: '4000 0027 6000 3184',
};

export type AddOn = 'upsell' | 'downsell';

/** A fresh buyer email per test, so charges can be counted per test by asking the backend. */
export function buyer(info: TestInfo) {
  return `${info.project.name}-${info.testId.slice(-12)}-${Date.now().toString(36)}@example.com`;
}

/** Page object for the checkout inside one widget. */
export class Checkout {
  readonly root: Locator;
  constructor(readonly page: Page, root?: Locator) {
    this.root = root ?? page.locator('momentum-checkout').first();
  }
  get email() { return this.root.getByLabel('Email for your receipt'); }
  get country() { return this.root.getByLabel('Country'); }
  get bump() { return this.root.getByRole('checkbox'); }
  get card() { return this.root.getByLabel('Card number'); }
  get pay() { return this.root.getByRole('button', { name: /^Pay/ }); }
  get total() { return this.root.getByTestId('total'); }
  get paymentError() { return this.root.locator('#m-payment-error'); }
  get status() { return this.root.getByRole('status'); }
  get receiptHeading() { return this.root.getByRole('heading', { name: 'Thank you! Your order is confirmed.' }); }
  get challenge() { return this.root.getByRole('dialog', { name: 'Confirm this payment with your bank' }); }
  get orderId() { return this.root.getByTestId('order-id'); }

  /** The add-on card offering `kind` (a bottom sheet on phones). */
  offer(kind: AddOn) { return this.root.getByTestId(kind); }
  accept(kind: AddOn) { return this.offer(kind).getByRole('button', { name: /^Add for / }); }
  noThanks(kind: AddOn) { return this.offer(kind).getByRole('button', { name: 'No thanks' }); }

  /** Waits until the card's Accept is armed (half a second on screen), then clicks it. */
  async acceptOffer(kind: AddOn) {
    await expect(this.accept(kind)).toHaveAttribute('aria-disabled', 'false');
    await this.accept(kind).click();
  }

  /** Waits until the card's "No thanks" is armed, then clicks it. */
  async declineOffer(kind: AddOn) {
    await expect(this.noThanks(kind)).toHaveAttribute('aria-disabled', 'false');
    await this.noThanks(kind).click();
  }

  /** Says "No thanks" to the upsell and the downsell, then expects the receipt, focused. */
  async skipOffers() {
    for (const kind of ['upsell', 'downsell'] as const) await this.declineOffer(kind);
    await expect(this.receiptHeading).toBeFocused();
  }

  /** Every control a thumb uses is at least 44 px tall (the bump's whole label is its target). */
  async expectTouchTargets() {
    // Located by id, not by name: the same check runs in every language.
    const targets = ['.m-pay', '#m-email', '#m-country', '.m-bump-label'].map((s) => this.root.locator(s));
    for (const target of [...targets, this.card]) {
      const box = (await target.boundingBox())!;
      expect(box.height).toBeGreaterThanOrEqual(44);
    }
  }

  async fill(email: string, card: string) {
    await this.email.fill(email);
    await this.card.fill(card);
    await this.root.getByLabel('Expiry (MM/YY)').fill('12/34');
    await this.root.getByLabel('CVC').fill('123');
  }
}

/** Every order the backend has for `email`, and its succeeded charges. */
export async function ordersOf(api: APIRequestContext, email: string) {
  const response = await api.get(`/v1/admin/orders?email=${encodeURIComponent(email)}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  expect(response.ok()).toBeTruthy();
  const { orders } = await response.json();
  const charges = orders.flatMap((o: any) => o.receipt.charges.filter((c: any) => c.status === 'succeeded'));
  return { orders, charges };
}

/** Formats minor units as the widget must (Intl, in the page, for the page's locale). */
export function money(page: Page, minor: number, currency: string, locale = 'en-IE') {
  return page.evaluate(
    ({ minor, currency, locale }) => {
      const digits = currency === 'JPY' ? 0 : currency === 'KWD' ? 3 : 2;
      return new Intl.NumberFormat(locale, {
        style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
      }).format(minor / 10 ** digits);
    },
    { minor, currency, locale },
  );
}

/**
 * Lets the backend handle the first request to a matching URL (so it charges) but drops its answer,
 * as a lost connection would; later requests pass. Returns the Idempotency-Keys seen, in order.
 */
export async function loseFirstAnswer(page: Page, matches: (url: URL) => boolean) {
  const keys: string[] = [];
  await page.route(matches, async (route) => {
    keys.push(route.request().headers()['idempotency-key']);
    if (keys.length > 1) return route.continue();
    await route.fetch(); // the backend charges…
    await route.abort('connectionreset'); // …and the answer never arrives
  });
  return keys;
}
