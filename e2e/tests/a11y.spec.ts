import { test, expect, offer } from '../support/test';
import { Widget } from '../support/widget';
import { API_ORIGIN } from '../support/origins';

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
