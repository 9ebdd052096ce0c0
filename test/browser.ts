// Headless Chromium (Debian's, through playwright-core) for the page tests: one tab, closed after
// the test, with the page's console errors and uncaught exceptions collected.
import { chromium, type BrowserContextOptions, type Page } from 'playwright-core';

/** `options`: the tab's context (e.g. `bypassCSP` for a tab that injects axe-core). */
export async function openTab(t: { after(fn: () => unknown): void }, options: BrowserContextOptions = {}): Promise<{ tab: Page; errors: string[] }> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => browser.close());
  const tab = await browser.newPage({ viewport: { width: 1400, height: 1000 }, ...options });
  const errors: string[] = [];
  tab.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
  tab.on('pageerror', (e) => errors.push(e.message));
  return { tab, errors };
}
