// The creator's dashboard at /admin (issue 13): sign-in required for every page, and the figures of
// an offer with two variants and a holdout, bought through the widget in each arm, moving to the
// exact expected values with a refund made in the dashboard and with costs. axe on every page.
import { test, expect, offer } from '../support/test';
import { ADMIN_KEY, Checkout, CARDS, buyer, ordersOf } from '../support/checkout';
import { bucketWhere, inHoldout, variantOf } from '../support/arms';
import { API_ORIGIN } from '../support/origins';
import {
  Dashboard, DASHBOARD_ACTIONS, DASHBOARD_PAGES, chargeFee, euros, meanMinor, percent, type ArmParam,
} from '../support/dashboard';

/**
 * Runs before every page script: `?bucket=N` on a host page pins the widget's A/B bucket (sticky
 * `browser`, as any-offer.html mounts) and starts a new funnel visit (the visit id lives in this
 * tab's sessionStorage), so one page can be several shoppers in turn.
 */
function shopperFromUrl() {
  const bucket = new URLSearchParams(location.search).get('bucket');
  if (!bucket) return;
  localStorage.setItem('momentum:ab-bucket', bucket);
  sessionStorage.removeItem('momentum:visit');
}

type Costs = { basisPoints: number; fixed: number; support: number };

/** What the dashboard must show for one arm, from the orders the test placed. */
function expected(orders: any[], costs: Costs) {
  let gross = 0, refunded = 0, fees = 0, support = 0, withBump = 0, withRefund = 0;
  for (const { receipt } of orders) {
    gross += receipt.total;
    refunded += receipt.refunded;
    for (const c of receipt.charges.filter((c: any) => c.status === 'succeeded')) {
      fees += chargeFee(c.amount, costs.basisPoints, costs.fixed);
    }
    support += costs.support * receipt.refunds.length;
    if (receipt.lines.some((l: any) => l.kind === 'bump')) withBump++;
    if (receipt.refunds.length > 0) withRefund++;
  }
  return { buyers: orders.length, gross, refunded, fees, support, net: gross - refunded - fees - support, withBump, withRefund };
}

async function expectArm(dash: Dashboard, arm: ArmParam, orders: any[], costs: Costs) {
  const f = expected(orders, costs);
  // Every visitor bought once (one visit per purchase), so visitors = buyers.
  const visitors = f.buyers;
  await expect(dash.money(arm, 'gross')).toHaveText(euros(f.gross));
  await expect(dash.money(arm, 'refunded')).toHaveText(euros(f.refunded));
  await expect(dash.money(arm, 'fees')).toHaveText(euros(f.fees));
  await expect(dash.money(arm, 'support')).toHaveText(euros(f.support));
  await expect(dash.money(arm, 'net')).toHaveText(euros(f.net));
  await expect(dash.figure(arm, 'buyers')).toHaveText(String(f.buyers));
  await expect(dash.figure(arm, 'visitors')).toHaveText(String(visitors));
  await expect(dash.figure(arm, 'net_per_visitor')).toHaveText(euros(meanMinor(f.net, visitors)));
  await expect(dash.figure(arm, 'net_per_buyer')).toHaveText(euros(meanMinor(f.net, f.buyers)));
  await expect(dash.figure(arm, 'average_order_value')).toHaveText(euros(meanMinor(f.gross, f.buyers)));
  await expect(dash.figure(arm, 'conversion')).toHaveText(percent(f.buyers, visitors));
  await expect(dash.figure(arm, 'bump_attach')).toHaveText(percent(f.withBump, f.buyers));
  await expect(dash.figure(arm, 'refund_rate')).toHaveText(percent(f.withRefund, f.buyers));
  // A handful of buyers: intervals are honestly withheld, with the count that is missing.
  const short = `Not enough data yet (${f.buyers} of 30 buyers needed)`;
  await expect(dash.figureCell(arm, 'net_per_buyer')).toContainText(short);
  await expect(dash.figureCell(arm, 'net_per_visitor')).toContainText(`Not enough data yet (${visitors} of 30 visitors needed)`);
  await expect(dash.difference(arm, 'net_per_buyer')).toHaveText(arm === 'holdout' ? 'Control' : short);
  await expect(dash.headline(arm)).toContainText(euros(meanMinor(f.net, visitors)));
  return f;
}

test('every dashboard page and action needs sign-in; a wrong key is refused', async ({ page, axe }) => {
  const dash = new Dashboard(page);
  for (const path of DASHBOARD_PAGES) {
    const res = await page.request.get(dash.url(path), { maxRedirects: 0 });
    expect(res.status(), path).toBe(303);
    expect(res.headers()['location'], path).toBe('/admin/login');
    await dash.goto(path);
    await expect(page, path).toHaveURL(dash.url('/admin/login'));
  }
  for (const path of DASHBOARD_ACTIONS) {
    const res = await page.request.post(dash.url(path), {
      form: { csrf: 'x' }, headers: { origin: API_ORIGIN }, maxRedirects: 0,
    });
    expect(res.status(), path).toBe(403);
  }
  await expect(dash.heading).toHaveText('Sign in to your dashboard');
  expect(await axe()).toEqual([]);
  await dash.keyField.fill('not-the-admin-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(dash.keyField).toHaveAttribute('aria-invalid', 'true');
  await expect(dash.keyField).toHaveAccessibleDescription(/That is not the admin key\./);
  expect(await axe()).toEqual([]);
  await dash.goto('/admin');
  await expect(page).toHaveURL(dash.url('/admin/login'));
});

test('the figures of each arm move to the exact expected values with purchases, a refund and costs', async ({ page, api, axe }, info) => {
  test.setTimeout(240_000);
  const base = await offer(api);
  const id = `dash-${info.project.name}-${Date.now().toString(36)}`;
  const variants = [
    { id: 'a', weight: 1 },
    { id: 'b', weight: 1, bump_price: 700, bump_label: 'Add the 40 mobile presets pack (launch price)' },
  ];
  // No exit offer: nothing may pop up between the steps of a purchase.
  const config = { ...base, id, exit_offer: undefined, holdout: { percent: 34 }, variants };
  const put = await api.put(`/v1/offers/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, data: config });
  expect(put.ok(), await put.text()).toBeTruthy();

  const buckets = {
    holdout: bucketWhere((b) => inHoldout(b, 34)),
    a: bucketWhere((b) => !inHoldout(b, 34) && variantOf(b, variants) === 'a'),
    b: bucketWhere((b) => !inHoldout(b, 34) && variantOf(b, variants) === 'b'),
  };
  await page.addInitScript(shopperFromUrl);

  /** One shopper in `arm` buys (bump or not; upsell accepted, or both add-ons declined). */
  const buy = async (arm: keyof typeof buckets, { bump = false, upsell = false } = {}) => {
    await page.goto(`/any-offer.html?offer=${id}&bucket=${buckets[arm]}`);
    const checkout = new Checkout(page);
    const email = `${arm}-${buyer(info)}`;
    await checkout.fill(email, CARDS.ok);
    if (bump) await checkout.bump.check();
    await checkout.pay.click();
    if (arm === 'holdout') {
      await expect(checkout.receiptHeading).toBeFocused(); // the holdout is offered no add-on
    } else if (upsell) {
      await checkout.acceptOffer('upsell');
      await expect(checkout.receiptHeading).toBeFocused();
    } else {
      await checkout.skipOffers();
    }
    const { orders } = await ordersOf(api, email);
    expect(orders).toHaveLength(1);
    const receipt = orders[0].receipt;
    expect(receipt.holdout).toBe(arm === 'holdout');
    expect(receipt.variant).toBe(arm === 'holdout' ? undefined : arm);
    return { email, order: orders[0] };
  };
  const a1 = await buy('a', { bump: true });
  const a2 = await buy('a', { upsell: true });
  const b1 = await buy('b', { bump: true });
  const h1 = await buy('holdout');
  expect(a1.order.receipt.total).toBe(base.product.price + base.bump.price);
  expect(a2.order.receipt.total).toBe(base.product.price + base.upsell.price);
  expect(b1.order.receipt.total).toBe(base.product.price + 700);
  expect(h1.order.receipt.total).toBe(base.product.price);

  const dash = new Dashboard(page);
  await dash.signIn();
  expect(await axe()).toEqual([]);
  // Costs 0 first, so the figures are plain sums.
  await dash.setCosts('0', '0', '0');
  await expect(dash.notice).toHaveText(/Costs saved/);

  const current = async () => ({
    holdout: (await ordersOf(api, h1.email)).orders,
    'variant:a': [...(await ordersOf(api, a1.email)).orders, ...(await ordersOf(api, a2.email)).orders],
    'variant:b': (await ordersOf(api, b1.email)).orders,
  });
  const checkAll = async () => {
    const orders = await current();
    // The costs this very page was computed with (costs are global: another project's run may
    // change them at any moment, and the page says which it used).
    const costs = await dash.appliedCosts();
    const out: Record<string, ReturnType<typeof expected>> = {};
    for (const arm of ['holdout', 'variant:a', 'variant:b'] as const) out[arm] = await expectArm(dash, arm, orders[arm], costs);
    return { costs, out };
  };

  await dash.overview(id);
  await expect(page.getByLabel('Compare with')).toHaveValue('holdout'); // the default control
  const before = await checkAll();
  expect(before.out['variant:a'].net).toBe(a1.order.receipt.total + a2.order.receipt.total - before.out['variant:a'].fees);
  await expect(dash.difference('variant:a', 'conversion')).toHaveText('Not enough data yet (2 of 30 visitors needed)');
  // The pictures and their text alternatives.
  await expect(page.getByRole('img', { name: /^Net revenue per buyer over time/ })).toBeVisible();
  for (const name of ['Holdout', 'Variant a', 'Variant b']) {
    await expect(page.getByRole('img', { name: `Funnel of ${name}` })).toBeVisible();
  }
  await page.getByText('The funnel as a table').click();
  const funnelTable = page.getByRole('table', { name: 'Funnel by arm' });
  await expect(funnelTable.getByRole('row', { name: /^Bought/ })).toHaveText(/Bought\s*1\s*2\s*1/);
  await page.getByText('Net revenue per buyer as a table').click();
  const npb = page.getByRole('table', { name: /^Net revenue per buyer by day/ });
  const f = before.out;
  await expect(npb.getByRole('row').nth(1)).toContainText(
    [f.holdout, f['variant:a'], f['variant:b']].map((x) => euros(meanMinor(x.net, x.buyers))).join(''),
  );
  // The funnel the widget reported: the upsell was offered to both of a's buyers, one took it;
  // a's other buyer and b's buyer declined it and the downsell. (Events arrive in the background.)
  await expect(async () => {
    await page.reload();
    await expect(dash.figureCell('variant:a', 'upsell_acceptance')).toContainText('1 of 2', { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(dash.figure('variant:a', 'upsell_acceptance')).toHaveText('50.0%');
  await expect(dash.figureCell('variant:a', 'downsell_acceptance')).toContainText('0 of 1');
  await expect(dash.figureCell('variant:b', 'upsell_acceptance')).toContainText('0 of 1');
  await expect(dash.figureCell('holdout', 'upsell_acceptance')).toContainText('0 of 0');
  expect(await axe()).toEqual([]);

  // Refund a's bump from the dashboard: search, ask, confirm (a double click refunds once).
  await dash.searchOrders(a1.email);
  const article = dash.order(a1.order.order_id);
  await expect(article).toBeVisible();
  await expect(article.locator('[data-fact="total"]')).toHaveText(euros(a1.order.receipt.total));
  expect(await axe()).toEqual([]);
  const bumpLine = a1.order.receipt.lines.find((l: any) => l.kind === 'bump');
  const question = await dash.askRefund(a1.order.order_id, 'bump');
  await expect(question).toHaveText(`Refund ${euros(bumpLine.amount)} of line “${bumpLine.label}” to card Visa •••• 4242?`);
  expect(await axe()).toEqual([]);
  await page.getByRole('button', { name: 'Confirm' }).dblclick();
  await expect(dash.heading).toHaveText('Orders');
  await expect(dash.notice).toContainText(`Refunded ${euros(bumpLine.amount)} of line “${bumpLine.label}”`);
  await expect(article.locator('tr[data-line="bump"]')).toContainText('Refunded');
  await expect(article.locator('tr[data-line="bump"]').getByRole('button')).toHaveCount(0);
  await expect(article.locator('[data-fact="refunded"]')).toHaveText(euros(bumpLine.amount));
  expect(await axe()).toEqual([]);
  const refunds = (await ordersOf(api, a1.email)).orders[0].receipt.refunds;
  expect(refunds.map((r: any) => [r.line_id, r.amount])).toEqual([['bump', bumpLine.amount]]);

  await dash.overview(id);
  const refunded = await checkAll();
  expect(refunded.out['variant:a'].refunded).toBe(bumpLine.amount);
  expect(refunded.out['variant:a'].withRefund).toBe(1);
  await expect(dash.figure('variant:a', 'refund_rate')).toHaveText('50.0%');

  // Costs: a wrong entry is named next to its field; then 2.90 % + 30 per charge, 500 per refund.
  await dash.setCosts('2.905', '30', '500');
  const fee = page.getByLabel('Payment fee, percent of each charge');
  await expect(fee).toHaveAttribute('aria-invalid', 'true');
  await expect(fee).toHaveAccessibleDescription(/at most two decimals/);
  expect(await axe()).toEqual([]);
  await dash.setCosts('2.90', '30', '500');
  await expect(dash.notice).toHaveText(/Costs saved/);
  await expect(fee).toHaveValue('2.90');
  expect(await axe()).toEqual([]);
  await dash.overview(id);
  const costed = await checkAll();
  if (costed.costs.basisPoints === 290) {
    // a: three charges (two orders, one with an upsell), one refund.
    const a = costed.out['variant:a'];
    expect(a.fees).toBe([5800, 4900, 2700].reduce((s, amount) => s + chargeFee(amount, 290, 30), 0));
    expect(a.support).toBe(500);
    expect(a.net).toBeLessThan(refunded.out['variant:a'].net);
  }

  // CSV downloads, for the signed-in creator only.
  const csv = await page.request.get(dash.url(`/admin/export/orders.csv?offer=${id}`));
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toBe('text/csv; charset=utf-8');
  expect(csv.headers()['content-disposition']).toMatch(/^attachment; filename="momentum-orders-/);
  expect(await csv.text()).toContain(a1.order.order_id);
  const metrics = await page.request.get(dash.url(`/admin/export/metrics.csv?offer=${id}&control=holdout`));
  expect(metrics.status()).toBe(200);
  expect(metrics.headers()['content-disposition']).toMatch(/^attachment; filename="momentum-metrics-/);

  await dash.signOut();
  await dash.goto('/admin/orders');
  await expect(page).toHaveURL(dash.url('/admin/login'));
  expect((await page.request.get(dash.url(`/admin/export/orders.csv?offer=${id}`), { maxRedirects: 0 })).status()).toBe(303);
});

