import { defineConfig } from '@playwright/test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import base from './playwright.config';
import { API_ORIGIN, HOST_ORIGIN } from './support/origins';
import { STRIPE_ORIGIN, STRIPE_PUBLISHABLE_KEY, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from './stripe/localstripe';

const db = join(tmpdir(), `momentum-e2e-stripe-${process.pid}-${Date.now()}.sqlite`);

// The Stripe gateway end to end: localstripe (a fake Stripe with a fake Stripe.js, installed by
// `cargo xtask test` into target/localstripe-venv), the backend with --gateway stripe, and the
// backend's Stripe example page served on the host origin. Same projects as the main suite.
export default defineConfig({
  ...base,
  testDir: './stripe',
  webServer: [
    {
      command: `../target/localstripe-venv/bin/localstripe --port ${new URL(STRIPE_ORIGIN).port} --from-scratch`,
      url: `${STRIPE_ORIGIN}/js.stripe.com/v3/`,
      reuseExistingServer: false,
      stderr: 'ignore', // its access log
    },
    {
      command:
        `../target/debug/momentum-server --addr ${new URL(API_ORIGIN).host} --db ${db} --static-dir ../dist ` +
        `--rate-limit off --gateway stripe --stripe-dialect localstripe --stripe-api-base ${STRIPE_ORIGIN} ` +
        `--stripe-js-url ${STRIPE_ORIGIN}/js.stripe.com/v3/ --stripe-publishable-key ${STRIPE_PUBLISHABLE_KEY}`,
      env: { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET },
      url: `${API_ORIGIN}/healthz`,
      reuseExistingServer: false,
      stdout: 'pipe',
    },
    {
      command: 'node support/serve-fixtures.mjs',
      url: `${HOST_ORIGIN}/plain.html`,
      reuseExistingServer: false,
    },
  ],
});
