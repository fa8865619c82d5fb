import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, offer } from '../support/test';
import { ADMIN_KEY, CARDS, Checkout, buyer, ordersOf, money } from '../support/checkout';
import { eventTypes } from '../support/widget';

/** A shipped language file: the words the widget must show (never literals in this test). */
function strings(lang: string): Record<string, string> {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'core', 'locales', `${lang}.json`), 'utf8'));
}
const fill = (template: string, args: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (whole, name) => args[name] ?? whole);

const hostPage = (query: Record<string, string>) => `/i18n.html?${new URLSearchParams(query)}`;

/** The paths of every language file the page asked for. */
function languageRequests(page: Page) {
  const paths: string[] = [];
  page.on('request', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.includes('/locales/')) paths.push(path);
  });
  return paths;
}

function widgetRoot(page: Page) {
  return page.locator('momentum-checkout').locator('.m-widget');
}

test('German from data-locale: its words, VAT line and country names; one file, fetched alongside the wasm', async ({ page, api }) => {
  const de = strings('de');
  const files = languageRequests(page);
  await page.goto(hostPage({ locale: 'de-DE' }));
  const widget = page.locator('momentum-checkout');
  await expect(widget.getByLabel(de.email_label)).toBeVisible();
  const demo = await offer(api);
  const total = await money(page, demo.product.price, demo.currency, 'de-DE');
  await expect(widget.getByRole('button', { name: fill(de.pay, { total }) })).toBeEnabled();
  const rate = await page.evaluate(() => new Intl.NumberFormat('de-DE', { style: 'percent', maximumFractionDigits: 2 }).format(0.19));
  await expect(widget.locator('.m-tax th')).toHaveText(fill(de.tax_included, { rate }));
  await expect(widget.getByRole('checkbox')).toBeVisible();
  const germany = await page.evaluate(() => new Intl.DisplayNames(['de'], { type: 'region' }).of('DE'));
  await expect(widget.getByLabel(de.country_label).locator('option:checked')).toHaveText(germany!);
  await expect(widgetRoot(page)).toHaveAttribute('lang', 'de');
  await expect(widgetRoot(page)).toHaveAttribute('dir', 'ltr');
  expect(files).toEqual(['/locales/de.json']);
  // No extra round trip: the language file was asked for before the wasm had even arrived.
  const timing = await page.evaluate(() => {
    const entry = (part: string) =>
      performance.getEntriesByType('resource').find((e) => e.name.includes(part)) as PerformanceResourceTiming;
    return { file: entry('/locales/de.json').startTime, wasm: entry('momentum_bg.wasm').responseEnd };
  });
  expect(timing.file).toBeLessThan(timing.wasm);
});

test.describe('without data-locale', () => {
  test.use({ locale: 'fr-FR' });
  test('the browser’s language decides: French', async ({ page }) => {
    const fr = strings('fr');
    await page.goto(hostPage({}));
    const widget = page.locator('momentum-checkout');
    await expect(widget.getByLabel(fr.email_label)).toBeVisible();
    await expect(widget.getByRole('button', { name: new RegExp(`^${fr.pay_no_total}`) })).toBeVisible();
    await expect(widgetRoot(page)).toHaveAttribute('lang', 'fr');
  });
});

test('country names in German order, from the DisplayNames and Collator the loader made while the wasm downloaded', async ({ page }) => {
  await page.addInitScript(() => {
    // What the page constructs, in order (the widget must reuse the loader's: src/intl.rs).
    const made: Record<string, string[]> = {};
    for (const name of ['DisplayNames', 'Collator'] as const) {
      const Real = (Intl as any)[name];
      (Intl as any)[name] = class extends Real {
        constructor(locales: unknown, options?: unknown) {
          super(locales, options);
          (made[name] ??= []).push(String(locales));
        }
      };
    }
    (window as any).__intlMade = made;
  });
  const made = () => page.evaluate(() => structuredClone((window as any).__intlMade));
  // The wasm is held back until the page is idle: by then the loader has made them.
  let whileDownloading: unknown;
  await page.route('**/momentum_bg.wasm', async (route) => {
    await page.evaluate(() => new Promise((resolve) => requestIdleCallback(resolve))).catch(() => {});
    whileDownloading = await made().catch(() => undefined);
    await route.continue();
  });
  const de = strings('de');
  await page.goto(hostPage({ locale: 'de-DE' }));
  const widget = page.locator('momentum-checkout');
  await expect(widget.getByRole('button', { name: new RegExp(de.pay.replace('{total}', '.+')) })).toBeEnabled();
  expect(whileDownloading, 'made by the loader before the wasm arrived').toEqual({ DisplayNames: ['de'], Collator: ['de'] });
  expect(await made(), 'the widget made none of its own').toEqual({ DisplayNames: ['de'], Collator: ['de'] });
  // The other 249 are added when the browser is idle after the first render (ui/buyer_fields.rs).
  const options = widget.getByLabel(de.country_label).locator('option');
  await expect(options, 'every country core knows').toHaveCount(250);
  const names = await options.allTextContents();
  expect(names).toContain('Österreich');
  expect(names).toEqual([...names].sort(new Intl.Collator('de').compare));
});

test('English is built in: no language file is fetched', async ({ page, api }) => {
  const files = languageRequests(page);
  await page.goto(hostPage({ locale: 'en-GB' }));
  const checkout = new Checkout(page);
  await expect(checkout.email).toBeVisible();
  await expect(checkout.pay).toBeEnabled();
  await expect(page.locator('momentum-checkout').getByRole('heading', { level: 2 })).toHaveText((await offer(api)).product.label);
  expect(files).toEqual([]);
});

test('a language file that cannot be fetched leaves a working checkout in English', async ({ page }) => {
  await page.route(/\/locales\/it\.json$/, (route) => route.abort('connectionreset'));
  await page.goto(hostPage({ locale: 'it-IT' }));
  const checkout = new Checkout(page);
  await expect(checkout.email).toBeVisible();
  await expect(checkout.pay).toBeEnabled();
  await expect(widgetRoot(page)).toHaveAttribute('lang', 'en');
  await expect.poll(() => eventTypes(page)).toContain('momentum:ready');
});

/** The creator's copy in Arabic, for an offer with no A/B variants (the screenshots are stable). */
const ARABIC_COPY = {
  'product.label': 'دورة احتراف إعدادات Lightroom',
  'product.description': '12 درسًا بالفيديو و60 إعدادًا مسبقًا لسطح المكتب تمنح صورك مظهرًا واحدًا مميزًا.',
  'bump.label': 'أضف حزمة إعدادات الهاتف (40 إعدادًا)',
  'bump.description': 'المظهر نفسه في Lightroom للهاتف، لتعدّل صورك أينما كنت.',
  refund_terms: 'ضمان استرداد المال خلال 14 يومًا على كل منتج، دون أي أسئلة.',
};

test('Arabic on a phone: right to left, the whole purchase, one charge, the receipt in Arabic', async ({ page, api }, info) => {
  test.skip(info.project.name !== 'phone', 'a phone flow');
  const ar = strings('ar');
  const id = 'arabic-course';
  const config = { ...(await offer(api)), id, variants: [], locales: { ar: { copy: ARABIC_COPY } } };
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  expect((await api.put(`/v1/offers/${id}`, { headers: admin, data: config })).ok()).toBeTruthy();
  await page.goto(hostPage({ offer: id, locale: 'ar' }));
  const widget = page.locator('momentum-checkout');
  await expect(widgetRoot(page)).toHaveAttribute('dir', 'rtl');
  await expect(widget.getByRole('heading', { level: 2 })).toHaveText(ARABIC_COPY['product.label']);
  const email = buyer(info);
  await widget.getByLabel(ar.email_label).fill(email);
  await widget.getByRole('checkbox').check();
  const checkout = new Checkout(page);
  await checkout.card.fill(CARDS.ok);
  await widget.getByLabel('Expiry (MM/YY)').fill('12/34');
  await widget.getByLabel('CVC').fill('123');
  await widget.getByLabel('CVC').blur();
  await expect(widget.locator('[data-line="bump"] th')).toHaveText(ARABIC_COPY['bump.label']);
  // Mirrored: the summary's amounts sit at the inline end, which is the left in Arabic.
  const row = await widget.locator('.m-summary tfoot tr').boundingBox();
  const amount = await widget.getByTestId('total').boundingBox();
  expect(amount!.x - row!.x).toBeLessThan(row!.width / 2);
  const shot = { fullPage: true, maxDiffPixelRatio: 0.02, mask: [widget.getByLabel(ar.email_label)] };
  await expect(page).toHaveScreenshot('arabic-checkout.png', shot);
  await widget.getByRole('button', { name: new RegExp(`^${ar.pay_no_total}`) }).click();
  for (const kind of ['upsell', 'downsell']) {
    const decline = widget.getByTestId(kind).getByRole('button', { name: ar.no_thanks });
    await expect(decline).toHaveAttribute('aria-disabled', 'false');
    await decline.click();
  }
  await expect(widget.getByRole('heading', { name: ar.receipt_title })).toBeFocused();
  const category = await page.evaluate(() => new Intl.PluralRules('ar').select(2));
  await expect(widget.getByTestId('receipt-items')).toHaveText(fill(ar[`receipt_items.${category}`], { count: '2' }));
  await expect(widget.getByText(ARABIC_COPY.refund_terms)).toBeVisible();
  const receiptShot = { ...shot, mask: [widget.getByTestId('order-id'), widget.getByText(email)] };
  await expect(page).toHaveScreenshot('arabic-receipt.png', receiptShot);
  const { charges } = await ordersOf(api, email);
  expect(charges).toHaveLength(1);
});

test.describe('the creator’s own words per language', () => {
  const id = 'i18n-course';
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  test('overrides and translated copy are shown; the backend’s lines appear translated', async ({ page, api }) => {
    const base = await offer(api);
    const config = {
      ...base,
      id,
      variants: [],
      locales: {
        de: {
          messages: { pay: 'Jetzt kaufen · {total}' },
          copy: { 'product.label': 'Lightroom-Meisterkurs', 'bump.label': 'Das Paket für Mobilgeräte' },
        },
      },
    };
    expect((await api.put(`/v1/offers/${id}`, { headers: admin, data: config })).ok()).toBeTruthy();
    await page.goto(hostPage({ offer: id, locale: 'de-DE' }));
    const widget = page.locator('momentum-checkout');
    await expect(widget.getByRole('heading', { level: 2 })).toHaveText('Lightroom-Meisterkurs');
    await expect(widget.getByRole('button', { name: /^Jetzt kaufen · / })).toBeVisible();
    await expect(widget.locator('[data-line="product"] th')).toHaveText('Lightroom-Meisterkurs');
    await expect(widget.locator('.m-bump-label')).toContainText('Das Paket für Mobilgeräte');
  });

  test('an unknown key is refused, naming it', async ({ api }) => {
    const base = await offer(api);
    const config = { ...base, id, variants: [], locales: { de: { messages: { pay_now: 'Kaufen' } } } };
    const response = await api.put(`/v1/offers/${id}`, { headers: admin, data: config });
    expect(response.status()).toBe(400);
    const { error } = await response.json();
    expect(error).toMatchObject({ code: 'unknown_message', field: 'locales.de.messages.pay_now' });
  });
});

test('the pseudo-locale (~40 % longer, accented) fits 320 px with 44 px targets', async ({ page }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(hostPage({ locale: 'en-XA' }));
  const widget = page.locator('momentum-checkout');
  await expect(widget.getByRole('button', { name: /^\[Þáý/ })).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
  await new Checkout(page).expectTouchTargets();
});

test('the loader and the widget choose the same language (one source: core’s negotiation)', async ({ page }) => {
  const cases: [string, string][] = [['pt-PT', 'pt-BR'], ['iw-IL', 'he'], ['zh-CN', 'en'], ['de-AT', 'de'], ['SV', 'sv'], ['en-XA', 'en-XA']];
  for (const [asked, lang] of cases) {
    const files = languageRequests(page);
    await page.goto(hostPage({ locale: asked }));
    await expect(widgetRoot(page), asked).toHaveAttribute('lang', lang);
    await expect(page.locator('momentum-checkout').locator('.m-root')).toHaveAttribute('lang', lang);
    await expect(page.locator('momentum-checkout').locator('.m-pay')).toBeVisible();
    expect(files, asked).toEqual(lang === 'en' ? [] : [`/locales/${lang}.json`]);
    page.removeAllListeners('request');
  }
});
