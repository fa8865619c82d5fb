import { test, expect } from '../support/test';
import { Checkout, CARDS, buyer } from '../support/checkout';

/**
 * Time from the response that confirms the payment (its last byte, from Resource Timing) to the
 * first frame that paints the upsell card, on Chromium with 4× CPU throttling. Goal: ≤ 100 ms.
 */
const RUNS = 12;
const GOAL_MS = 100;

test('prints the time from the confirming response to the visible upsell card', async ({ page }, info) => {
  test.setTimeout(RUNS * 15_000);
  await page.addInitScript(() => {
    const w = window as any;
    w.__bench = { paidAt: 0, cardAt: 0, chunkAt: 0 };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as PerformanceResourceTiming[]) {
        if (e.name.endsWith('/v1/orders')) w.__bench.paidAt = e.responseEnd;
        // The lazily loaded add-on chunk (fetched when the checkout is idle, and on Pay).
        if (/\/split_[a-z_]+\.wasm$/.test(e.name)) w.__bench.chunkAt = e.responseEnd;
      }
    }).observe({ type: 'resource', buffered: true });
    const watch = () => {
      const root = document.querySelector('momentum-checkout')?.shadowRoot;
      if (!root) return requestAnimationFrame(watch);
      new MutationObserver((_, observer) => {
        if (!root.querySelector('[data-testid=upsell]')) return;
        observer.disconnect();
        requestAnimationFrame((frame) => (w.__bench.cardAt = frame));
      }).observe(root, { childList: true, subtree: true });
    };
    watch();
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const samples: number[] = [];
  let chunkLate = 0;
  for (let run = 0; run < RUNS; run++) {
    // A fresh shopper each time: otherwise the widget resumes the last order's open upsell.
    if (run > 0) await page.evaluate(() => sessionStorage.clear());
    await page.goto('/checkout.html');
    const checkout = new Checkout(page);
    await expect(checkout.pay).toHaveText(/^Pay .+/);
    await checkout.fill(buyer(info), CARDS.ok);
    await checkout.pay.click();
    await expect(checkout.offer('upsell')).toBeVisible();
    const { paidAt, cardAt } = await page.waitForFunction(() => {
      const b = (window as any).__bench;
      return b.paidAt && b.cardAt && b;
    }).then((h) => h.jsonValue());
    samples.push(cardAt - paidAt);
    const { chunkAt } = await page.evaluate(() => (window as any).__bench);
    if (!chunkAt || chunkAt > paidAt) chunkLate++;
  }
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  console.log(
    `upsell card after the confirming response (${RUNS} purchases, 4x CPU throttling): ` +
      `min ${f(samples[0])}, median ${f(at(0.5))}, p90 ${f(at(0.9))}, max ${f(samples[samples.length - 1])}; ` +
      `goal <= ${GOAL_MS} ms: ${at(0.9) <= GOAL_MS ? 'met' : 'NOT met'} (p90); ` +
      `the add-on chunk arrived after the confirming response in ${chunkLate} of ${RUNS} purchases`,
  );
  expect(samples.every((ms) => ms > 0)).toBe(true);
});
