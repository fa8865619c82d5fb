import { defineConfig, devices } from '@playwright/test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchOptions } from './support/browser';
import { API_ORIGIN, HOST_ORIGIN } from './support/origins';

const db = join(tmpdir(), `momentum-e2e-${process.pid}-${Date.now()}.sqlite`);

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list']],
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: { baseURL: HOST_ORIGIN, trace: 'retain-on-failure' },
  projects: [
    { name: 'desktop', use: { ...devices['Desktop Chrome'], launchOptions } },
    { name: 'phone', use: { ...devices['Pixel 7'], launchOptions } },
  ],
  webServer: [
    {
      // The real reference backend: the API, the bundle (with CORS) and the demo page. Without
      // request budgets: every test's shopper comes from 127.0.0.1.
      command: `../target/debug/momentum-server --addr ${new URL(API_ORIGIN).host} --db ${db} --static-dir ../dist --rate-limit off`,
      url: `${API_ORIGIN}/healthz`,
      reuseExistingServer: false,
      stdout: 'pipe',
    },
    {
      // Host pages on a second origin, like a creator's site loading the bundle from a CDN.
      command: 'node support/serve-fixtures.mjs',
      url: `${HOST_ORIGIN}/plain.html`,
      reuseExistingServer: false,
    },
  ],
});
