import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, offer } from '../support/test';
import { ADMIN_KEY, CARDS, Checkout, buyer, ordersOf } from '../support/checkout';
import { events } from '../support/widget';

const DARK_SURFACE = 'rgb(17, 24, 39)';
const LIGHT_SURFACE = 'rgb(255, 255, 255)';

/** An offer with no A/B variants, so the screenshots show the same prices every run. */
async function stableOffer(api: any) {
  const id = 'themed-course';
  const config = { ...(await offer(api)), id, variants: [] };
  const put = await api.put(`/v1/offers/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, data: config });
  expect(put.ok()).toBeTruthy();
  return id;
}

function card(page: any) {
  return page.locator('momentum-checkout').locator('.m-checkout');
}

test('theme="dark": the dark palette on every state, 0 axe violations (contrast included), one charge', async ({ page, api, axe }, info) => {
  await page.goto('/i18n.html?theme=dark&locale=en-IE');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toBeEnabled();
  await expect(card(page)).toHaveCSS('background-color', DARK_SURFACE);
  expect(await axe()).toEqual([]);
  const email = buyer(info);
  await checkout.fill(email, CARDS.ok);
  await checkout.pay.click();
  await expect(checkout.offer('upsell')).toBeVisible();
  await expect(checkout.offer('upsell')).toHaveCSS('background-color', DARK_SURFACE);
  expect(await axe()).toEqual([]);
  await checkout.skipOffers();
  await expect(checkout.root.locator('.m-receipt')).toHaveCSS('background-color', DARK_SURFACE);
  expect(await axe()).toEqual([]);
  expect((await ordersOf(api, email)).charges).toHaveLength(1);
});

test('theme="auto" follows the system setting, live; light is the default', async ({ page }) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/i18n.html?theme=auto');
  await expect(card(page)).toHaveCSS('background-color', DARK_SURFACE);
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(card(page)).toHaveCSS('background-color', LIGHT_SURFACE);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/i18n.html');
  await expect(card(page)).toHaveCSS('background-color', LIGHT_SURFACE);
});

test('an unknown theme is an error naming data-theme', async ({ page }) => {
  await page.goto('/i18n.html?theme=night');
  await expect(page.locator('momentum-checkout').getByRole('alert')).toContainText('data-theme');
  await expect.poll(async () => (await events(page)).find((e) => e.type === 'momentum:error')?.detail)
    .toMatchObject({ code: 'config_invalid', field: 'theme' });
});

test('forced colours (Windows high contrast): every control keeps a visible edge', async ({ page }) => {
  await page.emulateMedia({ forcedColors: 'active' });
  await page.goto('/i18n.html?locale=en-IE');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toBeEnabled();
  // The checkbox is drawn by the system in forced colours; every other control needs its own edge.
  const controls = checkout.root.locator('button, input:not([type="checkbox"]), select, .m-bump, .m-card');
  const edges = await controls.evaluateAll((els) =>
    els.map((e) => {
      const style = getComputedStyle(e);
      return { what: e.className || e.id || e.tagName, style: style.borderTopStyle, width: parseFloat(style.borderTopWidth) };
    }),
  );
  expect(edges.length).toBeGreaterThan(4);
  for (const edge of edges) {
    expect(edge.style, edge.what).not.toBe('none');
    expect(edge.width, edge.what).toBeGreaterThanOrEqual(1);
  }
});

test('::part() names restyle the documented pieces without breaking the layout; a brand passes axe too', async ({ page, axe }) => {
  await page.goto('/brand.html?offer=creator-course');
  const checkout = new Checkout(page);
  await expect(checkout.pay).toBeEnabled();
  await expect(checkout.pay).toHaveCSS('text-transform', 'uppercase');
  await expect(checkout.root.locator('.m-bump')).toHaveCSS('border-top-style', 'solid');
  await expect(card(page)).toHaveCSS('background-color', 'rgb(255, 253, 248)');
  for (const part of ['card', 'checkout', 'heading', 'bump', 'button', 'pay-button']) {
    await expect(checkout.root.locator(`[part~="${part}"]`).first()).toBeVisible();
  }
  // The README lists every name the widget uses (so a creator can rely on them).
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  for (const part of ['card', 'checkout', 'heading', 'bump', 'button', 'pay-button', 'secondary-button', 'addon-card', 'receipt', 'dialog', 'error']) {
    expect(readme, part).toContain(`\`${part}\``);
  }
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(page.viewportSize()!.width);
  expect(await axe()).toEqual([]);
});

test.describe('the README’s themed examples', () => {
  for (const [name, path] of [
    ['light', '/i18n.html?theme=light&locale=en-IE'],
    ['dark', '/i18n.html?theme=dark&locale=en-IE'],
    ['brand', '/brand.html'],
  ] as const) {
    test(`${name}`, async ({ page, api }, info) => {
      test.skip(info.project.name !== 'desktop', 'one set of screenshots');
      const id = await stableOffer(api);
      await page.goto(`${path}${path.includes('?') ? '&' : '?'}offer=${id}`);
      const checkout = new Checkout(page);
      await expect(checkout.pay).toBeEnabled();
      await expect(checkout.total).not.toBeEmpty();
      await expect(page.locator('momentum-checkout')).toHaveScreenshot(`theme-${name}.png`, { maxDiffPixelRatio: 0.02 });
    });
  }
});
