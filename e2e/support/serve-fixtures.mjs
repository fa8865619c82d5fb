// Serves the host-page fixtures in e2e/fixtures on HOST_ORIGIN. {{BUNDLE}}, {{API}}, {{NONCE}} and
// {{OFFER}}, {{LOCALE}}, {{THEME}} (from the query) in a fixture are filled in per request; pages listed in POLICIES get that Content-Security-Policy.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, basename } from 'node:path';

const API = process.env.MOMENTUM_API_ORIGIN ?? 'http://127.0.0.1:4510';
const HOST = new URL(process.env.MOMENTUM_HOST_ORIGIN ?? 'http://127.0.0.1:4511');
const BASELINE = new URL(process.env.MOMENTUM_BASELINE_ORIGIN ?? 'http://127.0.0.1:4513');
const dir = join(import.meta.dirname, '..', 'fixtures');
const baselineDir = join(import.meta.dirname, '..', 'bench', 'baseline');

// The policy a careful creator's site sends: no inline script without a nonce, no inline styles,
// no eval; WebAssembly allowed ('wasm-unsafe-eval') or, in the second page, not.
const strict = (nonce, wasm) =>
  [
    "default-src 'self'",
    `script-src 'self' ${API} 'nonce-${nonce}'${wasm ? " 'wasm-unsafe-eval'" : ''}`,
    "style-src 'self'",
    `connect-src 'self' ${API}`,
    "img-src 'self'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
const POLICIES = {
  'csp-strict.html': (nonce) => strict(nonce, true),
  'csp-no-wasm.html': (nonce) => strict(nonce, false),
  // The strict policy plus Trusted Types: HTML, script and script-URL sinks take only values made
  // by a policy (no `trusted-types` directive, so any policy name, and none is created here).
  'trusted-types.html': (nonce) => `${strict(nonce, true)}; require-trusted-types-for 'script'`,
};
// Pages served like an ordinary landing page (revalidated, not `no-store`), so that the browser may
// keep them in its back-forward cache: the exit-intent tests leave them and come back.
const CACHEABLE = new Set(['exit.html', 'elsewhere.html']);

// The Stripe recipe is the backend's own example page (with the policy it documents), served
// here as a creator's site would serve it (only with --gateway stripe behind API).
const PROXIED = { 'stripe.html': '/stripe/example.html' };

// A query parameter for an attribute of the page's script tag: letters, digits and '-' only.
function setting(url, name, fallback) {
  const value = url.searchParams.get(name) ?? fallback;
  return /^[A-Za-z0-9-]*$/.test(value) ? value : fallback;
}

createServer(async (req, res) => {
  const url = new URL(req.url, HOST);
  const name = basename(url.pathname) || 'plain.html';
  // `?bundle=baseline`: the page loads the build issue 11 started from (e2e/bench/baseline).
  const bundle = url.searchParams.get('bundle') === 'baseline' ? BASELINE.origin : API;
  if (PROXIED[name]) {
    const upstream = await fetch(API + PROXIED[name]).catch(() => null);
    if (!upstream || !upstream.ok) return res.writeHead(502, { 'content-type': 'text/plain' }).end('no example page');
    return res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy': upstream.headers.get('content-security-policy') ?? '',
      })
      .end(await upstream.text());
  }
  try {
    const nonce = randomBytes(16).toString('base64');
    const page = (await readFile(join(dir, name), 'utf8'))
      .replaceAll('{{BUNDLE}}', `${bundle}/momentum.js`)
      .replaceAll('{{API}}', API)
      .replaceAll('{{NONCE}}', nonce)
      .replaceAll('{{OFFER}}', setting(url, 'offer', 'creator-course'))
      .replaceAll('{{LOCALE}}', setting(url, 'locale', ''))
      .replaceAll('{{THEME}}', setting(url, 'theme', ''));
    const headers = {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': CACHEABLE.has(name) ? 'no-cache' : 'no-store',
    };
    if (POLICIES[name]) headers['content-security-policy'] = POLICIES[name](nonce);
    res.writeHead(200, headers).end(page);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('no such fixture');
  }
}).listen(Number(HOST.port), HOST.hostname);

// The baseline bundle, on an origin of its own (cross-origin from the page, like a CDN), brotli.
const TYPES = { js: 'text/javascript; charset=utf-8', wasm: 'application/wasm' };
createServer(async (req, res) => {
  const name = basename(new URL(req.url, BASELINE).pathname);
  try {
    const body = await readFile(join(baselineDir, `${name}.br`));
    res.writeHead(200, {
      'content-type': TYPES[name.split('.').pop()] ?? 'application/octet-stream',
      'content-encoding': 'br',
      'access-control-allow-origin': '*',
      'timing-allow-origin': '*',
      'cache-control': 'no-store',
    }).end(body);
  } catch {
    res.writeHead(404, { 'access-control-allow-origin': '*' }).end();
  }
}).listen(Number(BASELINE.port), BASELINE.hostname);
