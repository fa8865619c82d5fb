// Where the widget's CPU time goes, under the benchmarks' 4× CPU slowdown: a sampling profile of
// each phase the critical-path and upsell benchmarks time, printed as the functions with the most
// self time, and the load's long tasks broken down by what the browser did in them. A diagnostic,
// not a benchmark, so it runs only when asked:
//
//   MOMENTUM_PROFILE=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test --config e2e/playwright.bench.config.ts profile
//
// Wasm functions have names only in a build that keeps them (see README, "Measuring the bundle").
import type { CDPSession, Page } from '@playwright/test';
import { test, expect } from '../support/test';
import { Checkout, CARDS, buyer } from '../support/checkout';

test.skip(!process.env.MOMENTUM_PROFILE, 'a diagnostic: set MOMENTUM_PROFILE=1 to run it');

const TOP = 25;
// As e2e/bench/critical-path.spec.ts: Lighthouse's mobile preset.
const MOBILE_NETWORK = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

type Node = { id: number; callFrame: { functionName: string; url: string; columnNumber: number }; children?: number[] };
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number };

async function profiled<T>(cdp: CDPSession, run: () => Promise<T>): Promise<{ result: T; profile: Profile }> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  await cdp.send('Profiler.start');
  const result = await run();
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: Profile };
  return { result, profile };
}

/** Each sample within [from, to] (µs, the trace's clock, which the profile shares): its node, its ms. */
function* samples(profile: Profile, from = -Infinity, to = Infinity) {
  let at = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= from && at <= to) yield { id, ms: delta / 1000 };
  }
}

/** Self time per function (ms), the largest first, and the total sampled. */
function selfTimes(profile: Profile, from?: number, to?: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  for (const { id, ms } of samples(profile, from, to)) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.split('/').pop() ?? '';
    // A minified script's functions are told apart by where they start (its one line's column).
    const where = file.endsWith('.js') ? `:${frame.columnNumber}` : '';
    const name = `${frame.functionName || '(anonymous)'}${file ? ` [${file}${where}]` : ''}`;
    times.set(name, (times.get(name) ?? 0) + ms);
  }
  const idle = times.get('(idle)') ?? 0;
  times.delete('(idle)');
  const busy = [...times.values()].reduce((a, b) => a + b, 0);
  return { top: [...times.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP), busy, idle };
}

/** Time (ms) with each of the widget's own functions anywhere on the stack, the largest first. */
function ownInclusive(profile: Profile, from?: number, to?: number) {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  for (const { id, ms } of samples(profile, from, to)) {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      // Without the hash, so a closure counts with its function.
      const name = byId.get(n)!.callFrame.functionName.replace(/::h[0-9a-f]{16}$/, '');
      if (name.startsWith('momentum::')) seen.add(name);
    }
    for (const name of seen) times.set(name, (times.get(name) ?? 0) + ms);
  }
  return [...times.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP);
}

function print(title: string, profile: Profile, from?: number, to?: number) {
  const { top, busy, idle } = selfTimes(profile, from, to);
  const row = ([name, ms]: [string, number]) =>
    `  ${ms.toFixed(1).padStart(7)} ms  ${(100 * ms / busy).toFixed(1).padStart(5)} %  ${name}`;
  const own = ownInclusive(profile, from, to);
  console.log(
    [
      `${title}: ${busy.toFixed(0)} ms busy (${idle.toFixed(0)} ms idle); self time, largest first:`,
      ...top.map(row),
      ...(own.length ? ['  the widget\'s own functions, with what they call (names kept in the build):', ...own.map(row)] : []),
    ].join('\n'),
  );
}

async function throttled(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  return cdp;
}

test('profiles the load, the bump toggle and the upsell card', async ({ page, browser }, info) => {
  test.setTimeout(120_000);
  const cdp = await throttled(page);
  const checkout = new Checkout(page);

  // The load under the benchmark's network too: what runs while the wasm downloads depends on it.
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', MOBILE_NETWORK);
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8'] });
  const load = await profiled(cdp, async () => {
    await page.goto('/checkout.html');
    await expect(checkout.pay).toHaveText(/^Pay .+/);
  });
  const trace = JSON.parse((await browser.stopTracing()).toString());
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  print('load until the Pay button shows its total', load.profile);
  printLongTasks(trace.traceEvents, load.profile);

  // Toggled from the page itself, as the critical-path benchmark does: Playwright's own polling
  // would dominate the profile.
  const toggle = await profiled(cdp, () => page.evaluate(async () => {
    const root = document.querySelector('momentum-checkout')!.shadowRoot!;
    const box = root.querySelector<HTMLInputElement>('input[type=checkbox]')!;
    const total = () => root.querySelector('[data-testid=total]')?.textContent;
    for (let i = 0; i < 20; i++) {
      const before = total();
      box.click();
      while (total() === before) await new Promise((r) => requestAnimationFrame(r));
    }
  }));
  print('20 bump toggles', toggle.profile);

  await checkout.fill(buyer(info), CARDS.ok);
  const pay = await profiled(cdp, async () => {
    await checkout.pay.click();
    await expect(checkout.offer('upsell')).toBeVisible();
  });
  print('Pay until the upsell card shows', pay.profile);
});

type TraceEvent = { name: string; ph: string; ts: number; dur?: number; tid: number; pid: number };

/**
 * Each task over 50 ms on the page's main thread: the time of the events directly in it, the
 * layout and style work anywhere in it (forced by a script, or not), and its samples' self time.
 */
function printLongTasks(events: TraceEvent[], profile: Profile) {
  const main = events.find((e) => e.name === 'thread_name' && (e as any).args?.name === 'CrRendererMain');
  const own = events.filter((e) => e.ph === 'X' && e.dur !== undefined && main && e.tid === main.tid && e.pid === main.pid);
  const tasks = own.filter((e) => e.name === 'RunTask' && e.dur! > 50_000);
  for (const task of tasks) {
    const inside = own.filter((e) => e !== task && e.ts >= task.ts && e.ts + e.dur! <= task.ts + task.dur!);
    // Direct children only: events not inside another event of the task.
    const top = inside.filter((e) => !inside.some((o) => o !== e && o.ts <= e.ts && o.ts + o.dur! >= e.ts + e.dur! && o.dur! > e.dur!));
    const sums = new Map<string, number>();
    for (const e of top) sums.set(e.name, (sums.get(e.name) ?? 0) + e.dur! / 1000);
    const parts = [...sums.entries()].sort((a, b) => b[1] - a[1]).map(([n, ms]) => `${n} ${ms.toFixed(1)}`);
    const rendering = ['Layout', 'UpdateLayoutTree', 'Paint', 'ParseAuthorStyleSheet']
      .map((name) => [name, inside.filter((e) => e.name === name).reduce((a, e) => a + e.dur! / 1000, 0)] as const)
      .filter(([, ms]) => ms > 0)
      .map(([name, ms]) => `${name} ${ms.toFixed(1)}`);
    console.log(`long task ${(task.dur! / 1000).toFixed(1)} ms: ${parts.join(', ')}; anywhere in it: ${rendering.join(', ') || 'no rendering'}`);
    if (task.dur! > 100_000) print('  its samples', profile, task.ts, task.ts + task.dur!);
  }
  expect(main, 'the trace has the renderer main thread').toBeTruthy();
}
