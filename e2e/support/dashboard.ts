import { expect, type Locator, type Page } from '@playwright/test';
import { API_ORIGIN } from './origins';
import { ADMIN_KEY } from './checkout';

/** Every page of the creator's dashboard (served by the backend, on the API origin). */
export const DASHBOARD_PAGES = ['/admin', '/admin/orders', '/admin/orders?q=a%40example.com', '/admin/costs', '/admin/export/orders.csv', '/admin/export/metrics.csv?offer=creator-course'];

/** Every action (POST) of the dashboard. */
export const DASHBOARD_ACTIONS = ['/admin/logout', '/admin/costs', '/admin/orders/refund', '/admin/orders/refund/confirm'];

/** An arm as the dashboard's forms and `data-arm` attributes name it. */
export type ArmParam = 'holdout' | 'base' | `variant:${string}`;

/**
 * Money as the dashboard writes it (server/src/admin/html.rs): the currency's exponent, thousands
 * with commas, `€` in front for EUR, `−` (U+2212) for negative amounts.
 */
export function euros(minor: number) {
  const sign = minor < 0 ? '−' : '';
  const abs = Math.abs(minor);
  const whole = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}€${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** An exact mean in minor units, rounded half away from zero as the dashboard does. */
export function meanMinor(sum: number, n: number) {
  const q = Math.floor((Math.abs(sum) * 2 + n) / (2 * n));
  return sum < 0 ? -q : q;
}

/** A proportion as the dashboard writes it: one decimal, rounded half up (`33.3%`). */
export function percent(successes: number, trials: number) {
  const permille = Math.floor((successes * 2000 + trials) / (2 * trials));
  return `${Math.floor(permille / 10)}.${permille % 10}%`;
}

/** The fee of one charge: the percentage rounded half up, plus the fixed part (core metrics). */
export function chargeFee(amount: number, basisPoints: number, fixed: number) {
  return Math.floor((amount * basisPoints + 5000) / 10000) + fixed;
}

/** Page object for the dashboard at `{API_ORIGIN}/admin`. */
export class Dashboard {
  constructor(readonly page: Page) {}

  url(path: string) {
    return `${API_ORIGIN}${path}`;
  }

  async goto(path: string) {
    await this.page.goto(this.url(path));
  }

  get keyField() { return this.page.getByLabel('Admin key'); }
  get heading() { return this.page.getByRole('heading', { level: 1 }); }
  get nav() { return this.page.getByRole('navigation', { name: 'Dashboard' }); }

  async signIn(key = ADMIN_KEY) {
    await this.goto('/admin/login');
    await this.keyField.fill(key);
    await this.page.getByRole('button', { name: 'Sign in' }).click();
    await expect(this.heading).toHaveText('Overview');
  }

  async signOut() {
    await this.page.getByRole('button', { name: 'Sign out' }).click();
    await expect(this.heading).toHaveText('Sign in to your dashboard');
  }

  /** The overview of `offer` (default range and control unless given). */
  async overview(offer: string, params: Record<string, string> = {}) {
    const q = new URLSearchParams({ offer, ...params });
    await this.goto(`/admin?${q}`);
    await expect(this.heading).toHaveText('Overview');
  }

  /** The section of one arm's figures. */
  arm(arm: ArmParam): Locator {
    return this.page.locator(`section.arm[data-arm="${arm}"]`);
  }

  /** The value of a figure (`net_per_visitor`, `conversion`, …; see `data-figure` in overview.rs). */
  figure(arm: ArmParam, key: string) {
    return this.arm(arm).locator(`tr[data-figure="${key}"] td`).first().locator('.value');
  }

  /** The whole value cell of a figure (value, counts, interval or "not enough data"). */
  figureCell(arm: ArmParam, key: string) {
    return this.arm(arm).locator(`tr[data-figure="${key}"] td`).first();
  }

  /** The "difference vs control" cell of a figure. */
  difference(arm: ArmParam, key: string) {
    return this.arm(arm).locator(`tr[data-figure="${key}"] td`).nth(1);
  }

  /** An amount of the arm's money table (`gross`, `refunded`, `fees`, `support`, `net`). */
  money(arm: ArmParam, key: 'gross' | 'refunded' | 'fees' | 'support' | 'net') {
    return this.arm(arm).locator(`tr[data-money="${key}"] .value`);
  }

  /** The headline table's row of an arm. */
  headline(arm: ArmParam) {
    return this.page.locator(`table[data-table="headline"] tr[data-arm="${arm}"]`);
  }

  /** The costs the report on screen was computed with. */
  async appliedCosts() {
    const p = this.page.locator('[data-costs]').first();
    return {
      basisPoints: Number(await p.getAttribute('data-fee-bp')),
      fixed: Number(await p.getAttribute('data-fee-fixed')),
      support: Number(await p.getAttribute('data-support')),
    };
  }

  async searchOrders(query: string) {
    await this.goto('/admin/orders');
    await this.page.getByLabel('E-mail or order id').fill(query);
    await this.page.getByRole('button', { name: 'Search' }).click();
    await expect(this.heading).toHaveText('Orders');
  }

  order(orderId: string) {
    return this.page.locator(`article[data-order="${orderId}"]`);
  }

  /** Asks to refund `line` of `orderId` (from the search results); returns the question shown. */
  async askRefund(orderId: string, line: string) {
    await this.order(orderId).locator(`tr[data-line="${line}"]`).getByRole('button', { name: /^Refund/ }).click();
    await expect(this.heading).toHaveText('Confirm the refund');
    return this.page.locator('.question');
  }

  async confirmRefund() {
    await this.page.getByRole('button', { name: 'Confirm' }).click();
    await expect(this.heading).toHaveText('Orders');
  }

  get notice() { return this.page.locator('.notice'); }

  async setCosts(feePercent: string, fixedMinor: string, supportMinor: string) {
    await this.goto('/admin/costs');
    await this.page.getByLabel('Payment fee, percent of each charge').fill(feePercent);
    await this.page.getByLabel('Fixed payment fee per charge, in minor units').fill(fixedMinor);
    await this.page.getByLabel('Support cost per refund, in minor units').fill(supportMinor);
    await this.page.getByRole('button', { name: 'Save costs' }).click();
  }
}
