// Momentum loader: the one file a creator's page loads (bundled with wasm-bindgen's glue by xtask).
// It owns the host-page boundary that only JavaScript can own: finding its own <script> tag,
// replaying the command queue, defining <momentum-checkout>, attaching the shadow root, and showing
// a plain link to the creator's fallback checkout when WebAssembly cannot run.
import init, { mount } from 'momentum-glue';
import css from 'momentum-style';

const TAG = 'momentum-checkout';
const SETTINGS = ['offer', 'api', 'fallback', 'locale', 'config', 'sticky', 'theme'];
// Set by xtask at build time from core/locales: the languages shipped (core's i18n::LANGUAGES) and,
// per language, the loader's own three strings (placeholder, error title, fallback link).
/* global MOMENTUM_LANGUAGES, MOMENTUM_LOADER_TEXTS */
const LANGUAGES = MOMENTUM_LANGUAGES;
const PSEUDO = 'en-XA';
const RTL = ['ar', 'he', 'fa', 'ur']; // as core's i18n::is_rtl
const w = window;
const doc = document;
const here = stripQuery(import.meta.url);

function stripQuery(url) {
  return url.split(/[?#]/)[0];
}

// Events are namespaced, bubble out of the shadow root, and never carry a payment token.
function emit(target, name, detail) {
  target.dispatchEvent(new CustomEvent('momentum:' + name, { bubbles: true, composed: true, detail }));
}

// The shopper's language, chosen as core's `i18n::negotiate` chooses it: `data-locale` alone when
// set, else the browser's languages; an exact tag, else the same primary language, else English.
function language(settings) {
  const asked = settings.locale ? [settings.locale] : navigator.languages || [navigator.language];
  for (const tag of asked) {
    const wanted = String(tag || '').trim().toLowerCase();
    const exact = LANGUAGES.find((l) => l.toLowerCase() === wanted);
    if (exact) return exact;
    let primary = wanted.split(/[-_]/)[0];
    if (primary === 'iw') primary = 'he';
    const same = LANGUAGES.find((l) => l !== PSEUDO && l.split('-')[0].toLowerCase() === primary);
    if (same) return same;
  }
  return 'en';
}

function texts(lang) {
  return MOMENTUM_LOADER_TEXTS[lang] || MOMENTUM_LOADER_TEXTS.en;
}

function get(url) {
  const signal = AbortSignal.timeout ? AbortSignal.timeout(15000) : undefined;
  const response = fetch(url, { signal });
  response.catch(() => {}); // the widget reads the failure; the page must not see it as unhandled
  return response;
}

// Everything the widget will ask for first, asked for now, while the wasm downloads: the offer and
// its quotes (one CORS-simple GET, no preflight) and the shopper's language file (none for English,
// which is built in). The checkout URL is built as the widget builds it (core's
// `EmbedConfig::checkout_url` and `buyer_country`); the widget uses each answer only if it would
// ask for exactly that.
function preload(settings) {
  const lang = language(settings);
  const locales = new URL('locales/', import.meta.url).href;
  const strings = lang === 'en' ? undefined : get(locales + lang + '.json');
  const out = { lang, strings, locales, placeholder: texts(lang)[0] };
  const offer = settings.offer && String(settings.offer).trim();
  const api = settings.api && String(settings.api).trim();
  if (!offer || !api || settings.config) return out;
  const tag = String(settings.locale || navigator.language || '');
  const region = tag.split('-').slice(1).find((part) => /^[a-z]{2}$/i.test(part));
  out.url = api.replace(/\/+$/, '') + '/v1/offers/' + offer + '/checkout?country=' + (region || 'us').toUpperCase();
  out.response = get(out.url);
  return out;
}

// The Intl objects the checkout's first render needs for the shopper's language, made while the
// wasm downloads (the main thread is idle then), under the keys of src/intl.rs's `cached`: the
// page's first DisplayNames loads the region names, ~70 ms on a phone, which would otherwise be
// part of the widget's first render.
function warmIntl(lang) {
  const cache = registry.intl || (registry.intl = {});
  const make = () => {
    try {
      cache['DisplayNames ' + lang] ||= new Intl.DisplayNames([lang], { type: 'region' });
      cache['Collator ' + lang] ||= new Intl.Collator([lang]);
    } catch {
      // A browser without them: the widget falls back as it would without this.
    }
  };
  (w.requestIdleCallback || setTimeout)(make);
}

function settingsOf(el) {
  const settings = {};
  for (const name of SETTINGS) settings[name] = el.getAttribute(name);
  return settings;
}

// The checkout's place, kept at its height until the wasm renders it (see .m-skeleton), so the host
// page does not jump. The widget's own loading state is the same element.
function skeleton(text) {
  const box = doc.createElement('p');
  box.className = 'm-card m-skeleton';
  box.setAttribute('part', 'card');
  box.setAttribute('role', 'status');
  box.textContent = text;
  return box;
}

function fail(el, code, message) {
  const [, titleText, linkText] = texts(el.momentumLang);
  console.error('[momentum] ' + message);
  const root = el.momentumRoot;
  const box = doc.createElement('div');
  box.className = 'm-card m-error';
  box.setAttribute('part', 'card error');
  box.setAttribute('role', 'alert');
  const title = doc.createElement('p');
  title.className = 'm-error-title';
  title.textContent = titleText;
  const detail = doc.createElement('p');
  detail.className = 'm-error-detail';
  detail.textContent = message;
  box.append(title, detail);
  const href = el.getAttribute('fallback');
  if (href && /^https?:\/\//i.test(href)) {
    const link = doc.createElement('a');
    link.className = 'm-button';
    link.href = href;
    link.textContent = linkText;
    box.append(link);
  }
  root.replaceChildren(box);
  emit(el, 'error', { code, message });
}

function start() {
  const sheet = new CSSStyleSheet();
  // Constructed stylesheets are not inline styles: they work under a CSP without 'unsafe-inline'.
  sheet.replaceSync(css);
  let failure = null;
  const ready = init({ module_or_path: new URL('momentum_bg.wasm', import.meta.url) }).then(
    () => true,
    (err) => {
      failure = 'WebAssembly could not start (' + ((err && err.message) || err) + ').';
      return false;
    },
  );

  class MomentumCheckout extends HTMLElement {
    connectedCallback() {
      // Moving the element around the page must not mount a second widget into it.
      if (this.momentumRoot) return;
      const shadow = this.shadowRoot || this.attachShadow({ mode: 'open' });
      shadow.adoptedStyleSheets = [sheet];
      // Its first requests go out now, whether a script tag, 'mount' or the page's HTML made it.
      const settings = settingsOf(this);
      const preloaded = this.momentumError ? { lang: language(settings) } : preload(settings);
      if (!this.momentumError) warmIntl(preloaded.lang);
      this.momentumPreload = preloaded;
      const lang = (this.momentumLang = preloaded.lang);
      const root = doc.createElement('div');
      root.className = 'm-root';
      root.lang = lang;
      root.dir = RTL.includes(lang.split('-')[0]) ? 'rtl' : 'ltr';
      root.append(skeleton(texts(lang)[0]));
      shadow.replaceChildren(root);
      this.momentumRoot = root;
      if (this.momentumError) return fail(this, 'target_missing', this.momentumError);
      ready.then((ok) => {
        if (!ok) return fail(this, 'wasm_unavailable', failure);
        try {
          // The widget renders the same placeholder in the same task: nothing moves in between.
          root.replaceChildren();
          mount(this, root, this.momentumPreload);
          this.momentumPreload = undefined;
        } catch (err) {
          fail(this, 'mount_failed', String((err && err.message) || err));
        }
      });
    }
  }
  if (!customElements.get(TAG)) customElements.define(TAG, MomentumCheckout);

  function create(settings, place, error) {
    const el = doc.createElement(TAG);
    for (const name of SETTINGS) {
      if (settings[name] != null) el.setAttribute(name, String(settings[name]));
    }
    // Set before insertion: connecting the element runs connectedCallback synchronously.
    el.momentumError = error;
    place(el);
    return el;
  }

  // A script tag mounts one widget right after itself, or into data-target; once, ever.
  function mountTag(script) {
    if (script.momentumMounted) return;
    script.momentumMounted = true;
    const data = script.dataset;
    if (!SETTINGS.some((name) => name in data) && !data.target) return; // a loader-only tag
    const target = data.target && doc.querySelector(data.target);
    const missing = data.target && !target && 'data-target: no element matches "' + data.target + '".';
    create(data, (e) => (target ? target.append(e) : script.after(e)), missing);
  }

  function scan() {
    for (const script of doc.querySelectorAll('script[src]')) {
      if (stripQuery(script.src) === here || script.src === import.meta.url) mountTag(script);
    }
  }

  const handlers = {
    mount(target, settings) {
      const parent = typeof target === 'string' ? doc.querySelector(target) : target;
      if (!parent || !parent.append) throw new Error('mount: no element matches ' + String(target));
      return create(settings || {}, (e) => parent.append(e));
    },
    on(name, handler) {
      doc.addEventListener('momentum:' + name, (event) => handler(event.detail, event));
    },
    // The page's payment provider: { mount(container), tokenize(details) → Promise<token>, and
    // optionally authenticate(next_action) → Promise<outcome> for 3-D Secure run by the provider }.
    // Its fields live in the provider's own elements; the widget only ever receives the token.
    payment(adapter) {
      if (!adapter || typeof adapter.mount !== 'function' || typeof adapter.tokenize !== 'function') {
        throw new Error('payment: expected an object with mount(container) and tokenize(details)');
      }
      if (adapter.authenticate != null && typeof adapter.authenticate !== 'function') {
        throw new Error('payment: authenticate, when given, must be a function(next_action)');
      }
      setPayment(adapter);
    },
  };
  let setPayment;
  registry.payment = new Promise((resolve) => (setPayment = resolve));

  // Calls made before load were queued by the stub; replay them in order, then run new ones directly.
  function api(command, ...args) {
    try {
      const handler = handlers[command];
      if (!handler) throw new Error('unknown command "' + command + '"');
      return handler(...args);
    } catch (err) {
      console.error('[momentum] ' + err.message);
      emit(doc, 'error', { code: 'bad_command', message: err.message });
    }
  }
  const queued = (w.Momentum && w.Momentum.q) || [];
  w.Momentum = api;
  api.loaded = true;
  for (const args of queued) api(...args);

  registry.scan = scan;
  scan();
}

// A second copy of this file (same page, another URL such as ?v=2) defers to the first.
const registry = w.__momentum || (w.__momentum = {});
if (registry.scan) registry.scan();
else start();
