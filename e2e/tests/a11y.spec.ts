import { test, expect, offer } from '../support/test';
import { Widget } from '../support/widget';
import { API_ORIGIN } from '../support/origins';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Every language shipped: English (built in), one file each in core/locales, the pseudo-locale. */
const LANGUAGES = ['en', 'en-XA', ...readdirSync(join(__dirname, '..', '..', 'core', 'locales')).map((f) => f.replace(/\.json$/, ''))];

for (const fixture of ['/plain.html', '/bio-link.html', `${API_ORIGIN}/`]) {
  test(`axe finds no WCAG A/AA violations: ${fixture}`, async ({ page, api, axe }) => {
    await page.goto(fixture);
    await new Widget(page).expectOffer(await offer(api));
    expect(await axe()).toEqual([]);
  });
}

test('axe finds no violations in the error state', async ({ page, axe }) => {
  await page.goto('/broken-config.html');
  await expect(page.getByRole('alert')).toHaveCount(5);
  expect(await axe()).toEqual([]);
});

test('no horizontal scroll at 320 px', async ({ page, api }) => {
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto('/bio-link.html');
  await new Widget(page).expectOffer(await offer(api));
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
});

for (const lang of LANGUAGES) {
  test(`axe: 0 violations in ${lang}, light and dark (contrast included)`, async ({ page, axe }) => {
    for (const theme of ['light', 'dark']) {
      await page.goto(`/i18n.html?locale=${lang}&theme=${theme}`);
      const widget = page.locator('momentum-checkout');
      await expect(widget.locator('.m-widget')).toHaveAttribute('lang', lang);
      await expect(widget.getByTestId('total')).not.toBeEmpty();
      expect(await axe(), `${lang}, ${theme}`).toEqual([]);
    }
  });
}
