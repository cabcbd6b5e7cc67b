// The dashboard in a real browser (headless Chromium through playwright-core): an API server with
// a fake status whose trader's health falls from 1.8 to 0.9 after a "price move"; the page must
// show the account row, its health and the chains it spans, and follow the change live. The test
// saves a screenshot in its temp folder (the path is printed) for a human to look at.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiServer, createApiServer, createNodeMetrics } from '../../relayer/api/index.ts';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/chromium.ts';
import { fakeStatus, TRADER } from '../support/status.ts';

describe('dashboard in a browser', () => {
  const fake = fakeStatus(1.8);
  let dir: string;
  let server: ApiServer;
  let browser: BrowserContext | undefined;
  let page: Page;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'xmargin-dashboard-'));
    server = createApiServer({
      port: 0,
      status: () => fake.status(),
      metrics: createNodeMetrics().registry,
      log: pino({ level: 'silent' }),
    });
    await server.start();
    // A persistent context is how playwright takes a --user-data-dir: ours, fresh, in the temp dir.
    browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await rm(path.join(dir, 'profile'), { recursive: true, force: true });
  });

  it('shows the account across its chains and follows a price move live', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(server.url);

    const row = page.locator(`[data-testid="account-row"][data-account="${TRADER}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-subaccount')).toBe('0');
    expect(await row.getAttribute('data-chains')).toBe('devnet-a,devnet-b,devnet-c');
    expect(await row.getByTestId('account-chains').textContent()).toBe('devnet-a · devnet-b · devnet-c');
    expect(await row.getByTestId('engine-chain').allTextContents()).toEqual(['devnet-b', 'devnet-c']);

    const health = row.locator('[data-testid="health"][data-engine="40102"]');
    await expect.poll(() => health.textContent()).toBe('1.80');
    // An engine with nothing required has unbounded health.
    expect(await row.locator('[data-testid="health"][data-engine="40103"]').textContent()).toBe('∞');
    expect(await row.getByTestId('liq-distance').first().textContent()).toBe('44.4%');
    // The cross-chain row: sums over the engines, free collateral, the nearest move per asset.
    const total = row.getByTestId('total-row');
    expect(await total.getByTestId('total-collateral').textContent()).toBe('11,500');
    expect(await total.getByTestId('total-free').textContent()).toBe('2,500');
    expect(await total.locator('[data-testid="total-distance"][data-asset="WETH"]').textContent()).toBe(
      'WETH −44.4%',
    );

    // Let the chart gather a few samples before the move, so the drop shows as a line.
    await page.waitForTimeout(6_000);
    fake.setHealth(0.9);
    await expect.poll(() => health.textContent(), { timeout: 5_000 }).toBe('0.90');
    expect(await health.getAttribute('class')).toContain('h-bad');
    expect(await row.getAttribute('class')).toContain('acct-bad');
    expect(await row.getByTestId('liq-distance').first().textContent()).toBe('none');
    await expect.poll(() => total.getByTestId('total-distance').textContent()).toBe('WETH +11.1%');
    await page.waitForTimeout(4_000);

    // The rest of the page: chains, peers, packets, liquidations.
    const chainNames = page.locator('[data-testid="chain-row"] [data-testid="chain-name"]');
    expect(await chainNames.allTextContents()).toEqual(['devnet-a', 'devnet-b', 'devnet-c']);
    expect(await page.getByTestId('peer-row').count()).toBe(1);
    // Long values (a peer's multiaddr) must not widen the page beyond the window.
    // (A string: the test's TypeScript has no DOM types.)
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    expect(await page.getByTestId('packets-in-flight').textContent()).toBe('2');
    expect(await page.getByTestId('liquidation-row').count()).toBe(1);
    const seizure = page.getByTestId('seizure');
    expect(await seizure.getAttribute('data-status')).toBe('paid');
    expect(await seizure.textContent()).toBe('0.61 WETH on devnet-a: paid');
    expect(await seizure.getAttribute('title')).toContain('4.2 s after the liquidation');
    // The rebalancer's moves: from → to, amount, health before → after, latency.
    const move = page.getByTestId('rebalance-row');
    expect(await move.count()).toBe(1);
    expect((await move.textContent())?.replace(/\s+/g, ' ')).toMatch(
      /devnet-b → devnet-c 264\.21 USDC \(\$264\.21\) 1\.22 → 1\.60 credited 4\.2 s/,
    );
    expect(await page.getByTestId('health-chart').count()).toBe(2);
    expect(await page.getByTestId('live').getAttribute('class')).toBe('ok');

    const screenshot = path.join(dir, 'dashboard.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`dashboard screenshot: ${screenshot}`);
    expect(errors).toEqual([]);
  });

  it('says so when the node stops answering', async () => {
    await server.stop();
    await expect.poll(() => page.getByTestId('live').getAttribute('class'), { timeout: 5_000 }).toBe('stale');
  });
});
