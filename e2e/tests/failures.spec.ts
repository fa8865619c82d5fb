import { test, expect } from '../support/test';
import { Widget, events, cspViolations } from '../support/widget';

test('broken configs show a short error in place, emit momentum:error, and the page keeps running', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('/broken-config.html');
  await expect(page.locator('#status')).toHaveText('host script ran');
  const widgetIn = (name: string) =>
    new Widget(page, page.getByRole('region', { name }).locator('momentum-checkout'));

  await expect(widgetIn('Missing offer').error).toContainText('data-offer: missing');
  await expect(widgetIn('Missing offer').fallbackLink).toHaveAttribute('href', 'https://pay.example/x');
  await expect(widgetIn('Bad api').error).toContainText('data-api');
  await expect(widgetIn('Unknown offer').error).toBeVisible();
  await expect(widgetIn('Script fallback').error).toContainText('data-fallback');
  await expect(widgetIn('Script fallback').fallbackLink).toHaveCount(0);
  await expect(page.locator('momentum-checkout').last().getByRole('alert')).toContainText('data-target');

  await expect.poll(async () => (await events(page)).filter((e) => e.type === 'momentum:error').length).toBe(5);
  const codes = (await events(page)).map((e) => e.detail.code).sort();
  expect(codes).toEqual(['config_invalid', 'config_invalid', 'config_invalid', 'offer_not_found', 'target_missing'].sort());
  const fields = (await events(page)).map((e) => e.detail.field).filter(Boolean).sort();
  expect(fields).toEqual(['api', 'fallback', 'offer']);
  expect(pageErrors).toEqual([]);
});

test('a failed wasm download shows the fallback link and emits momentum:error', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.route('**/momentum_bg.wasm', (route) => route.abort('failed'));
  await page.goto('/plain.html');
  const widget = new Widget(page);
  await expect(widget.error).toBeVisible();
  await expect(widget.fallbackLink).toHaveAttribute('href', 'https://pay.example/creator-course');
  await expect.poll(async () => (await events(page)).map((e) => e.detail.code)).toEqual(['wasm_unavailable']);
  expect(await page.evaluate(() => (window as any).hostScriptRan)).toBe(true);
  expect(pageErrors).toEqual([]);
});

test.describe('strict Content-Security-Policy', () => {
  test('works with script-src + wasm-unsafe-eval, no unsafe-inline styles, zero violations', async ({ page, widget, api }) => {
    const served = await (await api.get('/v1/offers/creator-course')).json();
    const response = await page.goto('/csp-strict.html');
    expect(response?.headers()['content-security-policy']).toContain("style-src 'self'");
    await widget.expectOffer(served);
    await expect(page.locator('#status')).toHaveText('host script ran');
    await expect.poll(async () => (await events(page)).map((e) => e.type)).toEqual(['momentum:ready']);
    expect(await cspViolations(page)).toEqual([]);
  });

  test('where WebAssembly is forbidden, a plain fallback link and momentum:error; the page keeps working', async ({ page, widget }) => {
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto('/csp-no-wasm.html');
    await expect(widget.fallbackLink).toHaveAttribute('href', 'https://pay.example/creator-course');
    await expect(page.locator('#status')).toHaveText('host script ran');
    await expect.poll(async () => (await events(page)).map((e) => e.detail.code)).toEqual(['wasm_unavailable']);
    expect(pageErrors).toEqual([]);
  });
});

test('broken inline offer configs name the field; a valid one renders; the page keeps running', async ({ page }) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto('/inline-configs.html');
  await expect(page.locator('#status')).toHaveText('host script ran');
  const widgetIn = (name: string) => new Widget(page, page.getByRole('region', { name }).locator('momentum-checkout'));
  const expected: [string, string][] = [
    ['Unknown field', 'product.colour: is not a known field'],
    ['Fractional money', 'product.price: must be a whole number'],
    ['Unknown currency', 'currency'],
    ['Bump priced at the product', 'bump.price'],
    ['Pre-ticked bump', 'bump.pre_checked'],
    ['Missing copy', 'product.description'],
    ['Plain-http fallback', 'fallback_url: must be an https:// URL'],
  ];
  for (const [name, text] of expected) await expect(widgetIn(name).error).toContainText(text);
  await expect(widgetIn('Valid inline config').productName).toHaveText('Inline Masterclass');
  const invalid = async () => (await events(page)).filter((e) => e.detail?.code === 'offer_invalid');
  await expect.poll(async () => (await invalid()).length).toBe(7);
  // Each event names the config field at fault, as the backend's error for the same config does.
  expect((await invalid()).map((e) => e.detail.field).sort()).toEqual(
    ['bump.pre_checked', 'bump.price', 'currency', 'fallback_url', 'product.colour', 'product.description', 'product.price'],
  );
  expect(pageErrors).toEqual([]);
});
