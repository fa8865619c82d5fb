import type { APIRequestContext, Locator, Page, Request } from '@playwright/test';
import { test, expect, offer } from '../support/test';
import { Checkout, CARDS, buyer, ordersOf } from '../support/checkout';
import { Widget, events, eventTypes, cspViolations } from '../support/widget';
import { FAST, showExitIntent } from '../support/exit';
import { API_ORIGIN, HOST_ORIGIN } from '../support/origins';

/** The reference backend's demo admin key (the e2e server runs without --admin-key). */
const ADMIN = 'sk_test_momentum_admin';

// ---------------------------------------------------------------------------------------------
// 1. Secrets stay where they belong
// ---------------------------------------------------------------------------------------------

/** Init script: records every write to Web Storage, to `document.cookie` and to the history, so a
 * secret written and removed again between two looks is still seen. */
function recordWrites() {
  const w = window as any;
  w.__writes = [];
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = function (this: Storage, key: string, value: string) {
    const where = this === window.sessionStorage ? 'sessionStorage' : 'localStorage';
    w.__writes.push({ where, key: String(key), value: String(value) });
    return setItem.call(this, key, value);
  };
  const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie')!;
  Object.defineProperty(Document.prototype, 'cookie', {
    configurable: true,
    get() { return cookie.get!.call(this); },
    set(value) {
      w.__writes.push({ where: 'cookie', key: '', value: String(value) });
      cookie.set!.call(this, value);
    },
  });
  for (const name of ['pushState', 'replaceState'] as const) {
    const original = history[name];
    history[name] = function (this: History, ...args: Parameters<History['pushState']>) {
      w.__writes.push({ where: 'history', key: name, value: String(args[2] ?? '') });
      return original.apply(this, args);
    };
  }
}

/** What the page itself holds and shows: its URL, cookie, both storages, every write to them so
 * far, the recorded `momentum:*` events, and the widget's DOM (with the values of its inputs). */
function lookAround(page: Page) {
  return page.evaluate(() => {
    const w = window as any;
    const widget = document.querySelector('momentum-checkout')!.shadowRoot!;
    return {
      url: location.href,
      cookie: document.cookie,
      local: Object.entries(localStorage),
      session: Object.entries(sessionStorage),
      writes: w.__writes as { where: string; key: string; value: string }[],
      events: JSON.stringify(w.__momentumEvents),
      dom: document.documentElement.outerHTML + widget.innerHTML +
        [...widget.querySelectorAll('input')].map((i) => i.value).join('\n'),
    };
  });
}

type Sent = { url: string; method: string; headers: Record<string, string>; body: string };

test.describe('secrets stay secret', () => {
  test('a purchase with an accepted upsell leaks no token, order secret, resume pass or card number', async ({ page, api }, info) => {
    const sent: Sent[] = [];
    const pending: Promise<unknown>[] = [];
    const captured: { token?: string; orderSecret?: string; resumePass?: string } = {};
    const logs: string[] = [];
    const navigations: string[] = [];
    const context = page.context();
    // Every request of every page and frame of this context, with all its headers.
    context.on('request', (r: Request) => {
      pending.push(r.allHeaders().then((headers) =>
        sent.push({ url: r.url(), method: r.method(), headers, body: r.postData() ?? '' })));
    });
    // The real values, from the backend's answers: the gateway's token, the order's secret and pass.
    page.on('response', (r) => {
      const url = r.url();
      if (r.request().method() !== 'POST') return;
      if (url === `${API_ORIGIN}/v1/test-gateway/tokens`) {
        pending.push(r.json().then((j) => (captured.token = j.token)));
      } else if (url === `${API_ORIGIN}/v1/orders`) {
        pending.push(r.json().then((j) => Object.assign(captured, { orderSecret: j.order_secret, resumePass: j.resume_pass })));
      }
    });
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    page.on('framenavigated', (f) => navigations.push(f.url()));
    context.on('page', (p) => navigations.push(`popup: ${p.url()}`));
    await page.addInitScript(recordWrites);

    await page.goto('/checkout.html');
    const checkout = new Checkout(page);
    await expect(checkout.pay).toHaveText(/^Pay .+/);
    const email = buyer(info);
    await checkout.bump.check();
    await checkout.fill(email, CARDS.ok);
    await checkout.pay.click();
    await expect(checkout.offer('upsell')).toBeVisible();
    const duringUpsell = await lookAround(page);
    await checkout.acceptOffer('upsell');
    await expect(checkout.receiptHeading).toBeFocused();
    await expect.poll(() => eventTypes(page)).toContain('momentum:receipt_shown');
    const atReceipt = await lookAround(page);
    const { charges } = await ordersOf(api, email);
    expect(charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
    await Promise.all(pending);

    const { token, orderSecret, resumePass } = captured;
    expect(token).toMatch(/^tok_test_[0-9a-f]{32}$/);
    expect(orderSecret).toMatch(/^osec_[0-9a-f]{64}$/);
    expect(resumePass).toMatch(/^rsm_\d+_[0-9a-f]+$/);
    /** The names of the secrets found in `text`: the real values, anything shaped like one, the PAN. */
    const secretsIn = (text: string, allow: string[] = []) => {
      const found = new Set<string>();
      const look = (name: string, hit: boolean) => hit && !allow.includes(name) && found.add(name);
      look('payment token', text.includes(token!) || /tok_[0-9a-z]/i.test(text));
      look('order secret', text.includes(orderSecret!) || /osec_[0-9a-f]/i.test(text));
      look('resume pass', text.includes(resumePass!) || /rsm_\d/.test(text));
      look('card number', /4242[\s-]?4242[\s-]?4242[\s-]?4242/.test(text) || text.includes(encodeURIComponent(CARDS.ok)));
      return [...found];
    };

    // Events, the console, every URL the page had and every request URL (with its query).
    expect(secretsIn(duringUpsell.events + atReceipt.events)).toEqual([]);
    expect(JSON.parse(atReceipt.events).length).toBeGreaterThan(5); // the recorder did see the funnel
    expect(secretsIn(logs.join('\n'))).toEqual([]);
    expect(secretsIn([duringUpsell.url, atReceipt.url, page.url(), ...navigations].join('\n'))).toEqual([]);
    expect(sent.filter((r) => secretsIn(r.url).length).map((r) => r.url)).toEqual([]);
    // The widget's DOM never shows them (the card fields are gone once paid).
    expect(secretsIn(duringUpsell.dom)).toEqual([]);
    expect(secretsIn(atReceipt.dom)).toEqual([]);

    // Storage and cookies. The one documented exception: the resume pass in this tab's
    // sessionStorage under `momentum:order:<offer>:<widget>` while the add-on is offered (README,
    // "After the payment"), next to the order id and never with the order secret; gone at the receipt.
    const orderKey = 'momentum:order:creator-course:0';
    expect(Object.fromEntries(duringUpsell.session)[orderKey]).toContain(resumePass);
    for (const look of [duringUpsell, atReceipt]) {
      expect(secretsIn(JSON.stringify(look.local))).toEqual([]);
      expect(secretsIn(look.cookie)).toEqual([]);
      for (const [key, value] of look.session) {
        expect(secretsIn(key + '\n' + value, key.startsWith('momentum:order:') ? ['resume pass'] : []), key).toEqual([]);
      }
    }
    expect(Object.fromEntries(atReceipt.session)[orderKey]).toBeUndefined();
    expect(secretsIn(JSON.stringify(atReceipt.session))).toEqual([]);
    for (const write of atReceipt.writes) {
      const allowed = write.where === 'sessionStorage' && write.key.startsWith('momentum:order:') ? ['resume pass'] : [];
      expect(secretsIn(write.key + '\n' + write.value, allowed), `${write.where} ${write.key}`).toEqual([]);
    }
    expect(atReceipt.writes.filter((w) => w.where === 'history' || w.where === 'cookie')).toEqual([]);
    expect(secretsIn(JSON.stringify(await context.cookies()))).toEqual([]);

    // Requests. The widget needs only the host and API origins (README, Content-Security-Policy):
    // nothing at all goes to a third origin, so nothing secret can.
    const third = sent.filter((r) => ![HOST_ORIGIN, API_ORIGIN].includes(new URL(r.url).origin));
    expect(third.map((r) => r.url)).toEqual([]);
    expect(third.filter((r) => secretsIn(JSON.stringify(r)).length)).toEqual([]);
    /** Where a secret legitimately travels: the requests carrying it, as "METHOD path: part". */
    const carriers = (name: string) =>
      sent.flatMap((r) => {
        const path = `${r.method} ${r.url.replace(API_ORIGIN, '{api}').replace(HOST_ORIGIN, '{host}')}`;
        const parts = [['body', r.body], ...Object.entries(r.headers).map(([k, v]) => [`header ${k}`, v])];
        return parts.filter(([, text]) => secretsIn(text).includes(name)).map(([part]) => `${path}: ${part}`);
      });
    // The card number goes to the test gateway's token endpoint on the API origin: that is the
    // payment provider's stand-in (its hosted fields post the number to the provider, never to the
    // creator's backend). It goes nowhere else: not in the order, not in any URL.
    expect(new Set(carriers('card number'))).toEqual(new Set(['POST {api}/v1/test-gateway/tokens: body']));
    // The one-time token goes once, with the order (retries would resend the same body).
    expect(new Set(carriers('payment token'))).toEqual(new Set(['POST {api}/v1/orders: body']));
    // The order secret is the bearer of the calls on the order (here, accepting the upsell).
    // Only ever as the Authorization header of a call on this very order.
    const orderId = JSON.parse(atReceipt.events).find((e: any) => e.type === 'momentum:checkout_completed').detail.order;
    expect(carriers('order secret')).toContain(`POST {api}/v1/orders/${orderId}/addons: header authorization`);
    for (const carrier of carriers('order secret')) {
      expect(carrier).toMatch(new RegExp(`^(GET|POST) \\{api\\}/v1/orders/${orderId}(/[a-z]+)?: header authorization$`));
    }
    // Without a reload the resume pass is never needed: the order secret in memory does.
    expect(carriers('resume pass')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 2. Trusted Types
// ---------------------------------------------------------------------------------------------

test.describe('Trusted Types', () => {
  test("under require-trusted-types-for 'script' the widget renders and sells, with zero violations", async ({ page, api }, info) => {
    // Leptos builds fully static subtrees from HTML strings (`innerHTML`), a Trusted Types sink:
    // the widget's `html!` turns that off (src/lib.rs). This test is what keeps it off.
    const errors: string[] = [];
    // (The fixture server has no favicon: the browser's own 404 for it is not the widget's.)
    page.on('console', (m) => m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    const response = await page.goto('/trusted-types.html');
    expect(response?.headers()['content-security-policy']).toContain("require-trusted-types-for 'script'");
    await expect(page.locator('#status')).toHaveText('host script ran');
    const checkout = new Checkout(page);
    // Print what was violated, and where, before anything can fail on it.
    const report = async () => {
      const widget = await page.locator('momentum-checkout').first().evaluate((el) => el.shadowRoot?.innerHTML.slice(0, 300));
      const seen = { violations: await cspViolations(page), errors, events: await events(page), widget };
      await info.attach('trusted-types.json', { body: JSON.stringify(seen, null, 2), contentType: 'application/json' });
      return seen;
    };
    try {
      await new Widget(page).expectOffer(await offer(api));
      await expect(checkout.pay).toHaveText(/^Pay .+/);
      const email = buyer(info);
      await checkout.bump.check();
      await checkout.fill(email, CARDS.ok);
      await checkout.pay.click();
      await checkout.acceptOffer('upsell');
      await expect(checkout.receiptHeading).toBeFocused();
      await expect.poll(() => eventTypes(page)).toContain('momentum:receipt_shown');
      expect((await ordersOf(api, email)).charges.map((c: any) => c.kind)).toEqual(['primary', 'upsell']);
    } finally {
      const seen = await report();
      console.log(`[trusted types, ${info.project.name}] ${JSON.stringify(seen)}`);
    }
    expect(await cspViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Creator copy: XSS corpus in every field
// ---------------------------------------------------------------------------------------------

/** Every creator-copy field of an offer config, with its length limit (core/src/offer.rs). The
 * variant paths assume the offer's first variant overrides both. */
const COPY_FIELDS: [path: string, max: number][] = [
  ['product.label', 80], ['product.description', 600],
  ['bump.label', 80], ['bump.description', 600],
  ['upsell.label', 80], ['upsell.headline', 120], ['upsell.deliverable', 600],
  ['downsell.label', 80], ['downsell.headline', 120], ['downsell.deliverable', 600],
  ['exit_offer.headline', 120], ['exit_offer.body', 600],
  ['refund_terms', 600],
  ['variants[0].bump_label', 80], ['variants[0].upsell_headline', 120],
];

/** Markup that would run script if it were ever parsed as HTML: an `onerror` handler, an inline
 * script and a `javascript:` link, each setting `window.__xss`; 78 characters, so that a
 * one-letter tag and a zero-width space (U+200B) still fit the 80-character label limit. */
const MARKUP = '<img src=x onerror=__xss=1><script>__xss=2</script><a href=javascript:__xss=3>';
/** The copy for one field: its one-letter tag (to tell the fields apart on screen), U+200B and
 * the markup. */
const copy = (tag: string) => `${tag}\u200b${MARKUP}`;

function setPath(target: any, path: string, value: unknown) {
  const keys = path.match(/[^.[\]]+/g)!;
  for (const key of keys.slice(0, -1)) target = target[key];
  target[keys[keys.length - 1]] = value;
}

/** The seeded offer, under another id, with a variant that overrides both variant copy fields. */
async function baseOffer(api: APIRequestContext, id: string) {
  const config = structuredClone(await offer(api));
  config.id = id;
  config.exit_offer.detector = FAST;
  config.variants = [{ id: 'v', weight: 1, bump_label: 'Variant bump label', upsell_headline: 'Variant upsell headline' }];
  return config;
}

async function putOffer(api: APIRequestContext, id: string, config: unknown) {
  const response = await api.put(`/v1/offers/${id}`, {
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    data: typeof config === 'string' ? config : JSON.stringify(config),
  });
  const text = await response.text();
  let error: any;
  try {
    error = JSON.parse(text).error;
  } catch {
    error = { body: text.slice(0, 80) };
  }
  return { status: response.status(), code: error?.code, field: error?.field, message: error?.message as string | undefined };
}

type CopyCase = { name: string; offer?: string; config?: unknown; fill?: { path: string; text: string; times: number } };

/** Opens copy.html with one widget per case. `fill` builds a long string in the page, so that
 * megabytes need not go through the test protocol. */
async function openCopyPage(page: Page, cases: CopyCase[]) {
  await page.addInitScript((cases: CopyCase[]) => {
    (window as any).__copyCases = cases.map((c) => {
      if (!c.fill) return c;
      const config = JSON.parse(JSON.stringify(c.config));
      const keys = c.fill.path.match(/[^.[\]]+/g)!;
      let at = config;
      for (const key of keys.slice(0, -1)) at = at[key];
      at[keys[keys.length - 1]] = c.fill.text.repeat(c.fill.times);
      return { name: c.name, config };
    });
  }, cases);
  await page.goto('/copy.html');
  await expect(page.locator('momentum-checkout')).toHaveCount(cases.length);
}

/** Nothing ran and nothing was parsed: no `window.__xss`, no element made of the copy in the
 * widget's shadow root (its top-layer sheet and dialog are in there too), no request for `x`. */
async function expectInert(page: Page, xRequests: string[]) {
  expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
  const parsed = await page.locator('momentum-checkout').first().evaluate((el) =>
    [...el.shadowRoot!.querySelectorAll('img, script, a, [onerror]')].map((e) => e.outerHTML));
  expect(parsed).toEqual([]);
  expect(xRequests).toEqual([]);
}

/** `text` is on screen, character for character (U+200B included), in the widget. */
async function expectLiteral(root: Locator, text: string) {
  const element = root.getByText(text, { exact: true });
  await expect(element).toBeVisible();
  expect(await element.evaluate((e) => e.textContent)).toBe(text);
}

for (const source of ['admin API', 'inline config'] as const) {
  test.describe(`creator copy from the ${source} renders as inert text`, () => {
    /** The offer to test with. Inline configs are also put on the backend: it prices orders (and
     * writes receipt lines) from its own copy of the offer, so the purchase can go through. */
    async function open(page: Page, api: APIRequestContext, config: any) {
      const put = await putOffer(api, config.id, config);
      expect(put.status, JSON.stringify(put)).toBe(200);
      await openCopyPage(page, [source === 'admin API' ? { name: 'Creator copy', offer: config.id } : { name: 'Creator copy', config }]);
    }
    const tag = source === 'admin API' ? 'api' : 'inline';

    test('product, bump, exit offer, upsell and receipt (upsell accepted)', async ({ page, api }, info) => {
      const id = `xss-${tag}-up-${info.project.name}`;
      const config = await baseOffer(api, id);
      delete config.variants; // the base copy, not a variant's
      const text = {
        productLabel: copy('P'), productDescription: copy('p'), bumpLabel: copy('B'), bumpDescription: copy('b'),
        upsellLabel: copy('U'), upsellHeadline: copy('H'), upsellDeliverable: copy('u'),
        exitHeadline: copy('X'), exitBody: copy('x'), refundTerms: copy('R'),
      };
      Object.assign(config.product, { label: text.productLabel, description: text.productDescription });
      Object.assign(config.bump, { label: text.bumpLabel, description: text.bumpDescription });
      Object.assign(config.upsell, { label: text.upsellLabel, headline: text.upsellHeadline, deliverable: text.upsellDeliverable });
      Object.assign(config.exit_offer, { headline: text.exitHeadline, body: text.exitBody });
      config.refund_terms = text.refundTerms;
      const x: string[] = [];
      page.on('request', (r) => new URL(r.url()).pathname === '/x' && x.push(r.url()));
      await open(page, api, config);

      const checkout = new Checkout(page);
      const root = checkout.root;
      await expect(checkout.pay).toHaveText(/^Pay .+/);
      await expect(new Widget(page).productName).toHaveText(text.productLabel);
      for (const t of [text.productDescription, text.bumpLabel, text.bumpDescription]) await expectLiteral(root, t);
      await expect(root.locator('tr[data-line=product] th')).toHaveText(text.productLabel);
      await expectInert(page, x);

      await showExitIntent(page, info);
      const dialog = root.getByRole('dialog');
      await expect(dialog).toBeVisible();
      for (const t of [text.exitHeadline, text.exitBody]) await expectLiteral(dialog, t);
      await expectInert(page, x);
      await dialog.getByRole('button', { name: 'No thanks' }).click();
      await expect(dialog).toBeHidden();

      await checkout.bump.check();
      await checkout.fill(buyer(info), CARDS.ok);
      await checkout.pay.click();
      const card = checkout.offer('upsell');
      await expect(card.getByRole('heading', { level: 2 })).toHaveText(`One-time offer: ${text.upsellHeadline}`);
      for (const t of [text.upsellDeliverable, text.refundTerms]) await expectLiteral(card, t);
      await expectInert(page, x);

      await checkout.acceptOffer('upsell');
      await expect(checkout.receiptHeading).toBeFocused();
      const lines = root.locator('tr[data-line] th');
      await expect(lines).toHaveText([text.productLabel, text.bumpLabel, text.upsellLabel]);
      await expectLiteral(root, text.refundTerms);
      await expectInert(page, x);
      expect((await events(page)).filter((e) => e.type === 'momentum:error')).toEqual([]);
    });

    test('variant copy, downsell and receipt (upsell declined, downsell accepted)', async ({ page, api }, info) => {
      const id = `xss-${tag}-down-${info.project.name}`;
      const config = await baseOffer(api, id);
      const text = {
        variantBumpLabel: copy('V'), variantUpsellHeadline: copy('W'),
        downsellLabel: copy('D'), downsellHeadline: copy('G'), downsellDeliverable: copy('d'),
      };
      // One variant, weight 1: every shopper gets it.
      Object.assign(config.variants[0], { bump_label: text.variantBumpLabel, upsell_headline: text.variantUpsellHeadline });
      Object.assign(config.downsell, { label: text.downsellLabel, headline: text.downsellHeadline, deliverable: text.downsellDeliverable });
      const x: string[] = [];
      page.on('request', (r) => new URL(r.url()).pathname === '/x' && x.push(r.url()));
      await open(page, api, config);

      const checkout = new Checkout(page);
      const root = checkout.root;
      await expect(checkout.pay).toHaveText(/^Pay .+/);
      await expectLiteral(root, text.variantBumpLabel);
      await expectInert(page, x);

      await checkout.bump.check();
      await checkout.fill(buyer(info), CARDS.ok);
      await checkout.pay.click();
      await expect(checkout.offer('upsell').getByRole('heading', { level: 2 })).toHaveText(`One-time offer: ${text.variantUpsellHeadline}`);
      await expectInert(page, x);
      await checkout.declineOffer('upsell');
      const card = checkout.offer('downsell');
      await expect(card.getByRole('heading', { level: 2 })).toHaveText(`One-time offer: ${text.downsellHeadline}`);
      await expectLiteral(card, text.downsellDeliverable);
      await expectInert(page, x);

      await checkout.acceptOffer('downsell');
      await expect(checkout.receiptHeading).toBeFocused();
      await expect(root.locator('tr[data-line] th')).toHaveText([config.product.label, text.variantBumpLabel, text.downsellLabel]);
      await expectInert(page, x);
      const completed = (await events(page)).find((e) => e.type === 'momentum:checkout_completed');
      expect(completed?.detail.variant).toBe('v');
    });
  });
}

/** Bidi controls: embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069). */
const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`;
/** "Presets" that would display as "Presets exe.png": a file-name spoof. */
const spoof = (c: string) => `Presets ${c}gnp.exe`;

test.describe('creator copy that is refused', () => {
  test.describe('by the admin API (PUT /v1/offers/{id})', () => {
    test.skip(({ isMobile }) => isMobile, 'no browser involved: the backend answers the same for every device');

    // The bidi rule (core/src/offer.rs, is_bidi_override in check_text): U+202A–U+202E and
    // U+2066–U+2069 in creator copy are refused like the other disallowed characters. Directional
    // marks (U+200E, U+200F) stay allowed for right-to-left copy.
    test('bidi controls in any creator-copy field: 400 invalid_text naming the field, nothing stored', async ({ api }) => {
      const base = await baseOffer(api, 'bidi-admin');
      const cases: [string, string][] = [
        ...COPY_FIELDS.map(([path]) => [path, '\u202e'] as [string, string]),
        ...BIDI.map((c) => ['product.label', c] as [string, string]),
      ];
      const seen: string[] = [];
      const expected: string[] = [];
      for (const [path, c] of cases) {
        const config = structuredClone(base);
        setPath(config, path, spoof(c));
        const r = await putOffer(api, base.id, config);
        seen.push(`${path} ${hex(c)}: ${r.status} ${r.code} ${r.field}`);
        expected.push(`${path} ${hex(c)}: 400 invalid_text ${path}`);
      }
      expect(seen).toEqual(expected);
      expect((await api.get(`/v1/offers/${base.id}`)).status()).toBe(404);
    });

    test('over-long copy in any field: 400 too_long naming the field; the limit itself is accepted', async ({ api }) => {
      const base = await baseOffer(api, 'long-admin');
      const seen: string[] = [];
      const expected: string[] = [];
      for (const [path, max] of COPY_FIELDS) {
        for (const [length, want] of [[max, '200'], [max + 1, `400 too_long ${path}`]] as const) {
          const config = structuredClone(base);
          setPath(config, path, 'é'.repeat(length)); // characters, not bytes, are counted
          const r = await putOffer(api, base.id, config);
          seen.push(`${path} × ${length}: ${r.status === 200 ? '200' : `${r.status} ${r.code} ${r.field}`}`);
          expected.push(`${path} × ${length}: ${want}`);
        }
      }
      expect(seen).toEqual(expected);
    });

    test('a 1 MB string: 413 payload_too_large (the 64 KiB body limit comes first), nothing stored', async ({ api }) => {
      // docs/api.md: bodies are at most 64 KiB, else 413 payload_too_large. The body limit is
      // checked before the config is read, so this error names no field; just under the limit
      // the field is named (too_long).
      const base = await baseOffer(api, 'huge-admin');
      const seen: string[] = [];
      for (const [path] of COPY_FIELDS) {
        const config = structuredClone(base);
        setPath(config, path, 'a'.repeat(1 << 20));
        const r = await putOffer(api, base.id, config);
        seen.push(`${path}: ${r.status} ${r.code} ${r.field}`);
      }
      expect(seen).toEqual(COPY_FIELDS.map(([path]) => `${path}: 413 payload_too_large undefined`));
      const almost = structuredClone(base);
      setPath(almost, 'product.description', 'a'.repeat(60 * 1024));
      expect(await putOffer(api, base.id, almost)).toMatchObject({ status: 400, code: 'too_long', field: 'product.description' });
      expect((await api.get(`/v1/offers/${base.id}`)).status()).toBe(404);
    });

    test('a javascript: fallback_url: 400 invalid_url naming fallback_url', async ({ api }) => {
      const config = await baseOffer(api, 'js-link-admin');
      config.fallback_url = 'javascript:__xss=4';
      expect(await putOffer(api, config.id, config)).toMatchObject({ status: 400, code: 'invalid_url', field: 'fallback_url' });
    });
  });

  test.describe('in an inline config (data-config)', () => {
    /** Opens one widget per case and expects each to refuse its config naming `field`, in its
     * error notice and in a `momentum:error` `offer_invalid`; the page keeps running. */
    async function expectRefused(page: Page, cases: (CopyCase & { field: string; says: RegExp })[]) {
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await openCopyPage(page, cases);
      for (const c of cases) {
        const widget = new Widget(page, page.getByRole('region', { name: c.name, exact: true }).locator('momentum-checkout'));
        await expect(widget.error, c.name).toContainText(`${c.field}: `);
        await expect(widget.error, c.name).toContainText(c.says);
        await expect(widget.fallbackLink, c.name).toHaveAttribute('href', 'https://pay.example/copy');
      }
      const refused = async () => (await events(page)).filter((e) => e.type === 'momentum:error');
      await expect.poll(async () => (await refused()).length).toBe(cases.length);
      const details = (await refused()).map((e) => `${e.detail.code} ${e.detail.field}`).sort();
      expect(details).toEqual(cases.map((c) => `offer_invalid ${c.field}`).sort());
      // The message names the field without echoing the copy back.
      for (const e of await refused()) expect(e.detail.message.length, e.detail.field).toBeLessThan(200);
      expect(await eventTypes(page)).not.toContain('momentum:ready');
      expect(await page.evaluate(() => (window as any).hostScriptRan)).toBe(true);
      expect(pageErrors).toEqual([]);
    }

    // The widget runs the same OfferConfig::validate on inline configs, so this needs a bundle
    // (dist/) built with the bidi rule; with an older bundle the configs are accepted, and these
    // widgets then fail on quotes ("no such offer": the backend does not have the offer).
    test('bidi controls in any creator-copy field are refused, naming the field', async ({ page, api }) => {
      const base = await baseOffer(api, 'bidi-inline');
      await expectRefused(page, COPY_FIELDS.map(([path]) => {
        const config = structuredClone(base);
        setPath(config, path, spoof('\u202e'));
        return { name: path, config, field: path, says: /control|bidi|direction|character/i };
      }));
    });

    test('a 1 MB string in any creator-copy field is refused as too long, naming the field', async ({ page, api }) => {
      const base = await baseOffer(api, 'huge-inline');
      await expectRefused(page, COPY_FIELDS.map(([path, max]) => ({
        name: path, config: base, fill: { path, text: 'a', times: 1 << 20 }, field: path, says: new RegExp(`at most ${max} characters`),
      })));
    });

    test('a javascript: fallback_url is refused, naming fallback_url', async ({ page, api }) => {
      const config = await baseOffer(api, 'js-link-inline');
      config.fallback_url = 'javascript:__xss=4';
      await expectRefused(page, [{ name: 'javascript: fallback', config, field: 'fallback_url', says: /https:\/\// }]);
      expect(await page.evaluate(() => (window as any).__xss)).toBeUndefined();
    });
  });
});
