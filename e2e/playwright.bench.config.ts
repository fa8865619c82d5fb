import { defineConfig } from '@playwright/test';
import base from './playwright.config';

// Benchmarks print figures; they assert behaviour, never timings. Desktop Chrome only, one worker,
// so the CPU throttling they apply is the only load.
export default defineConfig({
  ...base,
  testDir: './bench',
  fullyParallel: false,
  workers: 1,
  projects: base.projects!.filter((p) => p.name === 'desktop'),
});
