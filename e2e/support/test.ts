import { test as base, expect, type APIRequestContext } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { API_ORIGIN } from './origins';
import { EVENT_NAMES, installRecorder } from './recorder';
import { Widget } from './widget';

type Fixtures = {
  widget: Widget;
  api: APIRequestContext;
  /** Runs axe with the WCAG A/AA rules (inside open shadow roots too); returns the violations. */
  axe: () => Promise<unknown[]>;
};

export const test = base.extend<Fixtures>({
  page: async ({ page }, use) => {
    await page.addInitScript(installRecorder, EVENT_NAMES);
    await use(page);
  },
  widget: async ({ page }, use) => use(new Widget(page)),
  api: async ({ playwright }, use) => {
    const api = await playwright.request.newContext({ baseURL: API_ORIGIN });
    await use(api);
    await api.dispose();
  },
  axe: async ({ page }, use) =>
    use(async () => {
      const result = await new AxeBuilder({ page })
        .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
        .analyze();
      return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }));
    }),
});

/** The offer as the backend serves it (tests compare the UI with this, never with literals). */
export async function offer(api: APIRequestContext, id = 'creator-course') {
  const response = await api.get(`/v1/offers/${id}`);
  expect(response.ok()).toBeTruthy();
  return response.json();
}

export { expect };
