// The shopper's critical path (issue 11), under Lighthouse's mobile conditions. Run with:
//
//   PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test --config e2e/playwright.bench.config.ts critical-path
//
// Prints figures; asserts only behaviour (the checkout becomes interactive with a consistent total,
// the floor fetches succeed, the bump changes the total), never timings.
import { devices, type Browser, type CDPSession, type Page } from '@playwright/test';
import { test, expect } from '../support/test';
import { API_ORIGIN, HOST_ORIGIN } from '../support/origins';

const RUNS = 5;
const TOGGLES = 50;
// Lighthouse's mobile preset: 150 ms RTT, 1.6 Mbps down, 750 kbps up, 4× CPU slowdown.
const NETWORK = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };
const CPU_SLOWDOWN = 4;

/** One request as CDP saw it (times in CDP's monotonic seconds). */
type Request = {
  id: string;
  url: string;
  method: string;
  type: string;
  initiator: string;
  headers: Record<string, string>;
  body?: string;
  start: number;
  end?: number;
  status?: number;
  encoding?: string;
  headerBytes?: number;
  total?: number;
  /** For a request that needed a CORS preflight: that preflight's times. */
  preflight?: { start: number; end?: number };
};

/** A fresh context per run: cold HTTP cache, no open connections, no sessionStorage. */
async function coldPage(browser: Browser) {
  const { defaultBrowserType: _, ...desktop } = devices['Desktop Chrome'];
  const context = await browser.newContext({ ...desktop, baseURL: HOST_ORIGIN });
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', NETWORK);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: CPU_SLOWDOWN });
  return { context, page, cdp, requests: record(cdp) };
}

/** Every request of the page, with its preflight, its body bytes and its content-encoding. */
function record(cdp: CDPSession) {
  const byId = new Map<string, Request>();
  const preflights = new Map<string, { start: number; end?: number; of?: string }>();
  const extra = new Map<string, number>();
  cdp.on('Network.requestWillBeSent', (e: any) => {
    if (e.type === 'Preflight' || e.initiator?.type === 'preflight') {
      // Sent before its request is announced; linked by the initiator's requestId.
      preflights.set(e.requestId, { start: e.timestamp, of: e.initiator?.requestId });
      return;
    }
    byId.set(e.requestId, {
      id: e.requestId, url: e.request.url, method: e.request.method, type: e.type ?? '',
      initiator: e.initiator?.type ?? '', headers: e.request.headers, body: e.request.postData, start: e.timestamp,
    });
  });
  cdp.on('Network.responseReceivedExtraInfo', (e: any) => {
    if (e.headersText) extra.set(e.requestId, e.headersText.length);
  });
  cdp.on('Network.responseReceived', (e: any) => {
    const r = byId.get(e.requestId);
    if (!r) return;
    r.status = e.response.status;
    const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    r.encoding = (headers['content-encoding'] as string) || 'identity';
    r.headerBytes = e.response.encodedDataLength;
  });
  const finish = (e: any) => {
    const p = preflights.get(e.requestId);
    if (p) p.end = e.timestamp;
    const r = byId.get(e.requestId);
    if (!r) return;
    r.end = e.timestamp;
    r.total = e.encodedDataLength;
    if (extra.has(e.requestId)) r.headerBytes = extra.get(e.requestId);
  };
  cdp.on('Network.loadingFinished', finish);
  cdp.on('Network.loadingFailed', (e: any) => preflights.has(e.requestId) && finish(e));
  return () => {
    for (const p of preflights.values()) {
      const main = p.of && byId.get(p.of);
      if (main) main.preflight = p;
    }
    return [...byId.values()];
  };
}

/** Init script for the real run: time to interactive, layout shifts and long tasks until then. */
function instrument() {
  const w = window as any;
  const b = (w.__cp = { tti: 0, total: '', shifts: [] as any[], tasks: [] as any[], placed: Infinity });
  // The frame that inserts <momentum-checkout> (with its placeholder) shifts what follows it: the
  // page could not know its size before the loader ran. Shifts from the next frame on are the
  // widget's own (its placeholder not matching the checkout).
  let frames = 0;
  const watch = () => {
    if (document.querySelector('momentum-checkout') && ++frames === 2) return void (b.placed = performance.now());
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
  const isWidget = (n: any) => {
    for (let x = n; x; x = x.parentNode || x.host) if (x.nodeName === 'MOMENTUM-CHECKOUT') return true;
    return false;
  };
  // Host content after the widget is shifted by it.
  const afterWidget = (n: any) => {
    const el = document.querySelector('momentum-checkout');
    return !!el && !!n && !!(el.compareDocumentPosition(n) & Node.DOCUMENT_POSITION_FOLLOWING);
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as any[]) {
      const sources = (e.sources ?? []).map((s: any) => s.node);
      b.shifts.push({
        at: e.startTime, value: e.value, input: e.hadRecentInput,
        widget: sources.some((n: any) => isWidget(n) || afterWidget(n)),
      });
    }
  }).observe({ type: 'layout-shift', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) b.tasks.push({ at: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
  // A long task does not say whose it was; a long animation frame names each script run in it
  // (its source, what invoked it), so the widget's own long work can be told from the page's.
  b.scripts = [] as any[];
  if (PerformanceObserver.supportedEntryTypes.includes('long-animation-frame')) {
    new PerformanceObserver((list) => {
      for (const frame of list.getEntries() as any[]) {
        for (const x of frame.scripts ?? []) {
          b.scripts.push({ at: x.startTime, duration: x.duration, source: x.sourceURL, invoker: x.invoker });
        }
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  }
  const poll = () => {
    const root = document.querySelector('momentum-checkout')?.shadowRoot;
    const total = root?.querySelector('[data-testid=total]')?.textContent?.trim() ?? '';
    // By class, not by its words: the same check in every language.
    const pay = root?.querySelector('.m-pay');
    const bump = root?.querySelector<HTMLInputElement>('input[type=checkbox]');
    if (total && pay && pay.textContent!.includes(total) && pay.getAttribute('aria-disabled') === 'false'
      && bump && !bump.disabled) {
      b.tti = performance.now();
      b.total = total;
      return;
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}

/** In the page: toggles the bump `n` times; for each, input event → first frame with the new total. */
async function toggleBump(n: number) {
  const root = document.querySelector('momentum-checkout')!.shadowRoot!;
  const box = root.querySelector<HTMLInputElement>('input[type=checkbox]')!;
  const totalText = () => root.querySelector('[data-testid=total]')?.textContent ?? '';
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  const samples: number[] = [];
  const totals = new Set<string>();
  for (let i = 0; i < n; i++) {
    // Settle, then click from an ordinary task, as an input event would arrive.
    await frame();
    await new Promise((resolve) => setTimeout(resolve, 0));
    const before = totalText();
    let inputAt = 0;
    box.addEventListener('input', (e) => (inputAt = e.timeStamp), { once: true });
    const painted = new Promise<number>((resolve) => {
      const timer = setTimeout(() => (observer.disconnect(), resolve(-1)), 5_000);
      const observer = new MutationObserver(() => {
        if (totalText() === before) return;
        observer.disconnect();
        clearTimeout(timer);
        requestAnimationFrame(() => resolve(performance.now()));
      });
      observer.observe(root, { childList: true, characterData: true, subtree: true });
    });
    box.click();
    const at = await painted;
    totals.add(totalText().trim());
    samples.push(at < 0 || !inputAt ? -1 : at - inputAt);
  }
  return { samples, totals: [...totals] };
}

// Not needed to be interactive: the browser's favicon, and the widget's fire-and-forget funnel
// reports (sent as soon as it mounts; nothing waits on them).
const NOT_NEEDED = /\/favicon\.ico$|\/v1\/events$/;
// Headers the browser sets itself; the floor replays only the ones the widget set.
const BROWSER_HEADERS = /^(accept|accept-encoding|accept-language|cache-control|pragma|connection|content-length|cookie|host|origin|referer|user-agent|dnt|priority|sec-.*|proxy-.*)$/i;

type Run = Awaited<ReturnType<typeof realRun>>;

async function realRun(browser: Browser, url = '/checkout.html') {
  const { context, page, requests } = await coldPage(browser);
  await page.addInitScript(instrument);
  await page.goto(url);
  await page.waitForFunction(() => (window as any).__cp.tti > 0, null, { timeout: 60_000, polling: 100 });
  // Let the observers deliver entries up to that frame.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 100))));
  const cp = await page.evaluate(() => {
    const b = (window as any).__cp;
    const resources = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).map((e) => ({
      url: e.name, start: e.startTime, end: e.responseEnd, body: e.encodedBodySize,
    }));
    const observable = ['layout-shift', 'longtask'].every((t) => PerformanceObserver.supportedEntryTypes.includes(t));
    return { ...b, resources, observable };
  });
  expect(cp.observable, 'layout-shift and longtask entries are observable').toBe(true);
  const all = requests();
  // CDP's clock → the page's, from the requests that both CDP and Resource Timing saw once.
  const once = (xs: string[], x: string) => xs.indexOf(x) === xs.lastIndexOf(x);
  const rtUrls = cp.resources.map((e: any) => e.url);
  const cdpUrls = all.map((r) => r.url);
  const offsets = all
    .filter((r) => once(cdpUrls, r.url) && rtUrls.includes(r.url) && once(rtUrls, r.url))
    .map((r) => r.start * 1000 - cp.resources.find((e: any) => e.url === r.url).start)
    .sort((a, b) => a - b);
  expect(offsets.length, 'requests seen by both CDP and Resource Timing').toBeGreaterThan(0);
  const offset = offsets[Math.floor(offsets.length / 2)];
  const toPage = (t: number) => t * 1000 - offset;
  const before = all.filter((r) => r.end !== undefined && toPage(r.end) <= cp.tti && !NOT_NEEDED.test(r.url));
  return { context, page, cp, before, toPage };
}

/** The floor: the same requests, as inert files, the loader first, then all the others at once. */
async function floorRun(browser: Browser, plan: unknown) {
  const { context, page } = await coldPage(browser);
  await page.addInitScript((p) => ((window as any).__floorPlan = p), plan);
  await page.goto('/floor.html');
  const floor = await page
    .waitForFunction(() => (window as any).__floor, null, { timeout: 60_000, polling: 100 })
    .then((h) => h.jsonValue());
  await context.close();
  return floor as { at: number; error?: string; results: { url: string; method: string; status: number; bytes: number }[] };
}

/** The longest chain of requests where each starts only after the previous one ended. */
function roundTrips(nodes: { start: number; end: number; name: string }[]) {
  // By end, then start: every possible predecessor of a request comes before it.
  const sorted = [...nodes].sort((a, b) => a.end - b.end || a.start - b.start);
  const best = new Map<(typeof sorted)[number], { depth: number; chain: string[] }>();
  for (const n of sorted) {
    let prev = { depth: 0, chain: [] as string[] };
    let prevEnd = -Infinity;
    for (const m of sorted) {
      if (m === n || m.end > n.start) continue;
      const b = best.get(m);
      if (!b) continue; // zero-length requests at the same instant: not a chain
      // On a tie, the predecessor that ended last is the likelier cause.
      if (b.depth > prev.depth || (b.depth === prev.depth && m.end > prevEnd)) (prev = b), (prevEnd = m.end);
    }
    best.set(n, { depth: prev.depth + 1, chain: [...prev.chain, n.name] });
  }
  return [...best.values()].reduce((a, b) => (b.depth > a.depth ? b : a), { depth: 0, chain: [] as string[] });
}

const short = (url: string) => {
  const u = new URL(url);
  return u.origin === API_ORIGIN && u.pathname.startsWith('/v1/') ? u.pathname : u.pathname.split('/').pop()!;
};

test('prints the critical path to an interactive checkout under mobile conditions', async ({ browser }) => {
  test.setTimeout(150_000);
  const tti: number[] = [];
  const baselineTti: number[] = [];
  const floors: number[] = [];
  const chains: ReturnType<typeof roundTrips>[] = [];
  const cls: { total: number; insertion: number; widget: number; count: number }[] = [];
  let floorPlan = '';
  const preflightMs: number[] = [];
  const longest: number[] = [];
  const longestOwn: { ms: number; invoker: string }[] = [];
  let first: Pick<Run, 'cp' | 'before'> | undefined;
  let toggles: { samples: number[]; totals: string[] } | undefined;

  for (let run = 0; run < RUNS; run++) {
    const r = await realRun(browser);
    tti.push(r.cp.tti);
    expect(r.cp.total, 'the checkout shows a total').not.toBe('');
    const needed = r.before.map((q) => `${q.method} ${short(q.url)}`);
    // The offer and its quotes come in the loader's one request (docs/api.md, Checkout start).
    for (const name of ['GET momentum.js', 'GET momentum_bg.wasm', 'GET /v1/offers/creator-course/checkout']) {
      expect(needed, 'requests before interactive').toContain(name);
    }
    expect(needed.filter((n) => /\.wasm$/.test(n)), 'no chunk before interactive').toEqual(['GET momentum_bg.wasm']);
    expect(r.before.every((q) => q.status! < 400), 'every request before interactive succeeded').toBe(true);

    // Sequential round trips: the preflight of a request is one of its own.
    const nodes = r.before.flatMap((q) => {
      const name = `${q.method} ${short(q.url)}`;
      const main = { name, start: r.toPage(q.start), end: r.toPage(q.end!) };
      if (!q.preflight?.end) return [main];
      const pre = { name: `OPTIONS ${short(q.url)}`, start: r.toPage(q.preflight.start), end: r.toPage(q.preflight.end) };
      return [pre, { ...main, start: Math.max(main.start, pre.end) }];
    });
    chains.push(roundTrips(nodes));
    for (const q of r.before) if (q.preflight?.end) preflightMs.push((q.preflight.end - q.preflight.start) * 1000);

    const shifts = r.cp.shifts.filter((s: any) => s.at <= r.cp.tti && !s.input);
    const score = (xs: any[]) => xs.reduce((a: number, s: any) => a + s.value, 0);
    const widget = shifts.filter((s: any) => s.widget);
    cls.push({
      total: score(shifts),
      insertion: score(widget.filter((s: any) => s.at < r.cp.placed)),
      widget: score(widget.filter((s: any) => s.at >= r.cp.placed)),
      count: shifts.length,
    });
    longest.push(Math.max(0, ...r.cp.tasks.filter((t: any) => t.at <= r.cp.tti).map((t: any) => t.duration)));
    // The widget's scripts: the loader, its glue and the wasm they call, all from the bundle's origin.
    const own = r.cp.scripts
      .filter((x: any) => x.at <= r.cp.tti && x.source?.startsWith(API_ORIGIN))
      .sort((a: any, b: any) => b.duration - a.duration);
    longestOwn.push(own[0] ? { ms: own[0].duration, invoker: own[0].invoker } : { ms: 0, invoker: '' });

    // The floor of this run: loader (and what the host page itself references) first, then the rest.
    const loader = `${API_ORIGIN}/momentum.js`;
    const replay = (q: Request) => ({
      url: q.url, method: q.method, body: q.body ?? null,
      headers: Object.fromEntries(Object.entries(q.headers).filter(([k]) => !BROWSER_HEADERS.test(k))),
    });
    const rest = r.before.filter((q) => q.type !== 'Document' && q.url !== loader);
    const plan = {
      first: rest.filter((q) => q.initiator === 'parser').map(replay),
      then: rest.filter((q) => q.initiator !== 'parser').map(replay),
    };
    if (run === 0) {
      const names = (qs: ReturnType<typeof replay>[]) => qs.map((q) => `${q.method} ${short(q.url)}`).join(', ');
      floorPlan = `page, then momentum.js${plan.first.length ? ` + ${names(plan.first)}` : ''}, then at once: ${names(plan.then)}`;
    }
    const floor = await floorRun(browser, plan);
    expect(floor.error).toBeUndefined();
    expect(floor.results).toHaveLength(rest.length + 1);
    expect(floor.results.every((x) => x.status < 400 && x.bytes > 0), 'every floor fetch succeeded').toBe(true);
    floors.push(floor.at);

    // The build this issue started from (e2e/bench/baseline), in the same run and conditions.
    const base = await realRun(browser, '/checkout.html?bundle=baseline');
    expect(base.cp.total, 'the baseline shows the same total').toBe(r.cp.total);
    baselineTti.push(base.cp.tti);
    await base.context.close();

    if (run === 0) first = { cp: r.cp, before: r.before };
    if (run === RUNS - 1) {
      // Toggle latency on a warm, interactive checkout, still at 4× CPU.
      toggles = await r.page.evaluate(toggleBump, TOGGLES);
      expect(toggles.samples.every((ms) => ms >= 0), 'every toggle repainted the total').toBe(true);
      expect(toggles.totals, 'the bump switches between two totals').toHaveLength(2);
      expect(toggles.totals).toContain(r.cp.total);
    }
    await r.context.close();
  }

  // Bytes before interactive, from the first run: Resource Timing's encodedBodySize where the
  // response allows it (Timing-Allow-Origin), else CDP's bytes on the wire minus the headers.
  const bytes = first!.before.map((q) => {
    const rt = first!.cp.resources.find((e: any) => e.url === q.url);
    const body = rt?.body || Math.max(0, (q.total ?? 0) - (q.headerBytes ?? 0));
    return { name: short(q.url) || 'document', body, encoding: q.encoding };
  });

  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
  const pct = (xs: number[], q: number) => sorted(xs)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)];
  const range = (xs: number[], d = 0) =>
    `min ${sorted(xs)[0].toFixed(d)} median ${median(xs).toFixed(d)} max ${sorted(xs)[xs.length - 1].toFixed(d)} ms`;
  const kb = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(1)} kB` : `${n} B`);
  const depths = [...new Set(chains.map((c) => c.depth))].sort();
  const longestChain = chains.reduce((a, b) => (b.depth > a.depth ? b : a));
  const ratio = median(tti) / median(floors);

  console.log(
    [
      `critical path (Lighthouse mobile: 150 ms RTT, 1.6/0.75 Mbps, ${CPU_SLOWDOWN}x CPU, cold cache), ${RUNS} runs:`,
      `  time to interactive checkout: ${range(tti)}`,
      `    the build this issue started from (e2e/bench/baseline), same runs: ${range(baselineTti)}; ` +
        `now ${(100 * (1 - median(tti) / median(baselineTti))).toFixed(0)} % faster (medians)`,
      `  network floor:                ${range(floors)};  ratio TTI/floor (median): ${ratio.toFixed(2)}`,
      `    (floor = ${floorPlan}; fetched as inert files, CORS preflights included)`,
      `  bytes before interactive: ${bytes.map((b) => `${b.name} ${kb(b.body)}${b.encoding === 'br' ? '' : ` (${b.encoding})`}`).join(', ')}; ` +
        `total ${kb(bytes.reduce((a, b) => a + b.body, 0))} (brotli unless marked)`,
      `  sequential round trips on the path: ${depths.join('–')} (${longestChain.chain.join(' → ')})`,
      ...(preflightMs.length
        ? [`    (CORS preflights took median ${median(preflightMs).toFixed(1)} ms: Chrome's network emulation does not delay them; ` +
            `on a real 150 ms RTT each costs one more RTT, in TTI and floor alike)`]
        : []),
      `  layout shift until interactive: total ${Math.max(...cls.map((c) => c.total)).toFixed(4)}; ` +
        `by the widget once in place ${Math.max(...cls.map((c) => c.widget)).toFixed(4)}, by inserting it (the script tag's ` +
        `frame) ${Math.max(...cls.map((c) => c.insertion)).toFixed(4)} (worst run; ${Math.max(...cls.map((c) => c.count))} shift entries); ` +
        `longest task during load: median ${median(longest).toFixed(0)} ms (max ${Math.max(...longest).toFixed(0)} ms)`,
      `  longest script run by the widget during load (Long Animation Frames, which list scripts of 5 ms or more in frames ` +
        `over 50 ms; 0 = none): median ${median(longestOwn.map((x) => x.ms)).toFixed(0)} ms, ` +
        `max ${Math.max(...longestOwn.map((x) => x.ms)).toFixed(0)} ms; per run: ` +
        longestOwn.map((x) => `${x.ms.toFixed(0)}${x.invoker ? ` (${x.invoker})` : ''}`).join(', '),
      `  bump toggle -> total repainted (${TOGGLES} toggles): p50 ${pct(toggles!.samples, 0.5).toFixed(1)} ms, ` +
        `p95 ${pct(toggles!.samples, 0.95).toFixed(1)} ms`,
    ].join('\n'),
  );
});

test('prints what a language costs on the critical path (German against English, same conditions)', async ({ browser }) => {
  test.setTimeout(120_000);
  const LANGUAGE_RUNS = 3;
  const pages = { en: '/i18n.html?locale=en-IE', de: '/i18n.html?locale=de-DE' } as const;
  const result: Record<string, { tti: number[]; depth: number[]; file: number; shift: number }> = {};
  for (const [lang, url] of Object.entries(pages)) {
    const figures = { tti: [] as number[], depth: [] as number[], file: 0, shift: 0 };
    for (let run = 0; run < LANGUAGE_RUNS; run++) {
      const r = await realRun(browser, url);
      expect(r.cp.total, 'the checkout shows a total').not.toBe('');
      const file = r.before.filter((q) => /\/locales\//.test(q.url));
      expect(file.map((q) => short(q.url)), 'language files before interactive').toEqual(lang === "en" ? [] : [`${lang}.json`]);
      figures.tti.push(r.cp.tti);
      const nodes = r.before.map((q) => ({ name: `${q.method} ${short(q.url)}`, start: r.toPage(q.start), end: r.toPage(q.end!) }));
      figures.depth.push(roundTrips(nodes).depth);
      const rt = r.cp.resources.find((e: any) => /\/locales\//.test(e.url));
      figures.file = rt?.body ?? 0;
      const own = r.cp.shifts.filter((x: any) => x.widget && !x.input && x.at >= r.cp.placed && x.at <= r.cp.tti);
      figures.shift = Math.max(figures.shift, own.reduce((a: number, x: any) => a + x.value, 0));
      await r.context.close();
    }
    result[lang] = figures;
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    [
      `what a language costs (${LANGUAGE_RUNS} cold runs each, Lighthouse mobile):`,
      ...Object.entries(result).map(([lang, f]) =>
        `  ${lang}: time to interactive median ${median(f.tti).toFixed(0)} ms; sequential round trips ${[...new Set(f.depth)].join('–')}; ` +
        `language file ${f.file ? `${f.file} B brotli` : 'none (built in)'}; layout shift by the widget once in place ${f.shift.toFixed(4)}`),
      `  German - English: ${(median(result.de.tti) - median(result.en.tti)).toFixed(0)} ms`,
    ].join('\n'),
  );
});
