import { test, expect, offer } from '../support/test';
import { Widget, events, eventTypes } from '../support/widget';
import { API_ORIGIN } from '../support/origins';

test.describe('one script tag', () => {
  test('mounts the widget after its tag, in an open shadow root, from another origin', async ({ page, widget, api }) => {
    const served = await offer(api);
    await page.goto('/plain.html');
    await widget.expectOffer(served);
    // Host origin and bundle origin differ: this only works with CORS on the bundle.
    expect(new URL(page.url()).origin).not.toBe(API_ORIGIN);
    const placement = await page.evaluate(() => {
      const el = document.querySelector('momentum-checkout')!;
      return {
        shadow: el.shadowRoot?.mode,
        afterScript: (el.previousElementSibling as HTMLScriptElement | null)?.src.endsWith('/momentum.js'),
        beforeHostContent: el.nextElementSibling?.id,
      };
    });
    expect(placement).toEqual({ shadow: 'open', afterScript: true, beforeHostContent: 'after' });
    await expect.poll(() => eventTypes(page)).toEqual(['momentum:ready']);
    const [ready] = await events(page);
    expect(ready.detail).toEqual({ offer: served.id });
    expect(ready.target).toBe('momentum-checkout');
    expect(await page.evaluate(() => (window as any).hostScriptRan)).toBe(true);
  });

  test('shows the price through Intl in the currency of the offer', async ({ page, widget, api }) => {
    const served = await offer(api);
    await page.goto('/plain.html');
    await widget.expectOffer(served);
    const expected = await page.evaluate(
      ({ price, currency }) =>
        new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: 2 }).format(price / 100),
      { price: served.product.price, currency: served.currency },
    );
    await expect(widget.price).toHaveText(expected);
  });

  test('the demo page (same origin as the backend) embeds the widget the way a creator does', async ({ page, api }) => {
    const served = await offer(api);
    await page.goto(`${API_ORIGIN}/`);
    await new Widget(page).expectOffer(served);
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  });
});

test.describe('host page boundary', () => {
  test('hostile host CSS neither leaks in nor gets overridden', async ({ page, widget, api }) => {
    const served = await offer(api);
    await page.goto('/plain.html');
    await widget.expectOffer(served);
    const plain = await widget.productName.evaluate((h) => getComputedStyle(h).fontSize);
    await page.goto('/hostile-css.html');
    await widget.expectOffer(served);
    await expect(widget.productName).toBeVisible();
    const hostile = await widget.productName.evaluate((h) => {
      const s = getComputedStyle(h);
      return { fontSize: s.fontSize, transform: s.textTransform, color: s.color };
    });
    expect(hostile).toEqual({ fontSize: plain, transform: 'none', color: expect.not.stringContaining('255, 0, 255') });
    // And the widget's CSS does not leak out: host headings keep the host's own rules.
    expect(await page.locator('h1').evaluate((h) => getComputedStyle(h).fontSize)).toBe('30px');
  });

  test("the host page's text-decoration does not paint through onto the widget", async ({ page, widget, api }) => {
    await page.goto('/hostile-css.html');
    await widget.expectOffer(await offer(api));
    // Decorations are not inherited (computed styles inside say `none` either way) but painted
    // through: compare the pixels with the host's underline on and off.
    const heading = widget.productName;
    const underlined = await heading.screenshot({ animations: 'disabled', caret: 'hide' });
    await page.addStyleTag({ content: 'body { text-decoration: none !important; }' });
    expect(await page.locator('h1').evaluate((h) => getComputedStyle(h).textDecorationLine)).toBe('none');
    const plain = await heading.screenshot({ animations: 'disabled', caret: 'hide' });
    expect(underlined.equals(plain)).toBe(true);
  });

  test('a sensible default width on a wide desktop page, changed with --momentum-max-width', async ({ page, api }, info) => {
    test.skip(!!info.project.use.isMobile, 'a desktop layout');
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto('/wide.html');
    const served = await offer(api);
    const byDefault = new Widget(page, page.getByRole('region', { name: 'Default width' }).locator('momentum-checkout'));
    const roomy = new Widget(page, page.getByRole('region', { name: "Creator's width" }).locator('momentum-checkout'));
    await byDefault.expectOffer(served);
    await roomy.expectOffer(served);
    const width = (w: Widget) => w.root.evaluate((e) => e.getBoundingClientRect().width);
    expect(await width(byDefault)).toBe(448); // 28em of the widget's fixed 16px base
    expect(await width(roomy)).toBe(600);
  });

  test('theming through --momentum-* custom properties', async ({ page, widget, api }) => {
    await page.goto('/bio-link.html');
    await widget.expectOffer(await offer(api));
    const radius = await widget.root.locator('.m-card').first().evaluate((c) => getComputedStyle(c).borderTopLeftRadius);
    expect(radius).toBe('20px'); // 1.25em of the widget's fixed 16px base
  });

  test('loading the script twice mounts nothing twice', async ({ page, widget, api }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto('/twice.html');
    await widget.expectOffer(await offer(api));
    await expect.poll(() => eventTypes(page)).toEqual(['momentum:ready']);
    await expect(page.locator('momentum-checkout')).toHaveCount(1);
    expect(await page.evaluate(() => (window as any).hostScriptRan)).toBe(true);
    expect(errors).toEqual([]);
  });

  test('commands queued before load are replayed in order', async ({ page, widget, api }) => {
    await page.goto('/queue.html');
    expect(await page.evaluate(() => (window as any).queuedBeforeLoad)).toBe(3);
    await widget.expectOffer(await offer(api));
    await expect(page.locator('#slot > momentum-checkout')).toHaveCount(1);
    await expect
      .poll(() => page.evaluate(() => (window as any).calls))
      .toEqual(['first ready handler: creator-course', 'second ready handler: creator-course']);
    expect(await page.evaluate(() => typeof (window as any).Momentum.q)).toBe('undefined');
  });

  test('several widgets on one page are independent', async ({ page, api }) => {
    const [first, second] = [await offer(api), await offer(api, 'tokyo-night-presets')];
    await page.goto('/multiple.html');
    const one = new Widget(page, page.getByRole('region', { name: 'First product' }).locator('momentum-checkout'));
    const two = new Widget(page, page.getByRole('region', { name: 'Second product' }).locator('momentum-checkout'));
    await one.expectOffer(first);
    await two.expectOffer(second);
    await expect(two.price).toHaveText(/￥|¥/);
    await expect.poll(async () => (await events(page)).map((e) => e.detail.offer).sort()).toEqual(
      [first.id, second.id].sort(),
    );
  });
});
