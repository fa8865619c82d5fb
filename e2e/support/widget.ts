import { expect, type Locator, type Page } from '@playwright/test';
import type { RecordedEvent } from './recorder';

/** Page object for one Momentum widget (Playwright's locators pierce its open shadow root). */
export class Widget {
  readonly root: Locator;

  constructor(readonly page: Page, root?: Locator) {
    this.root = root ?? page.locator('momentum-checkout').first();
  }

  get productName() {
    return this.root.getByRole('heading', { level: 2 });
  }
  get price() {
    return this.root.getByTestId('product-price');
  }
  get error() {
    return this.root.getByRole('alert');
  }
  get fallbackLink() {
    return this.root.getByRole('link', { name: 'Continue to checkout' });
  }

  /** Waits until the widget shows the offer as the backend serves it. */
  async expectOffer(offer: { product: { label: string } }) {
    await expect(this.productName).toHaveText(offer.product.label);
  }
}

/** Everything the recorder saw so far. */
export function events(page: Page): Promise<RecordedEvent[]> {
  return page.evaluate(() => (window as any).__momentumEvents ?? []);
}

export function eventTypes(page: Page): Promise<string[]> {
  return events(page).then((list) => list.map((e) => e.type));
}

export function cspViolations(page: Page): Promise<unknown[]> {
  return page.evaluate(() => (window as any).__cspViolations ?? []);
}
