// `npm start -- --exit --json` — the main job — runs its whole canonical story and ends with one JSON
// summary line: chains, nodes, transactions, health before and after, liquidation latency, the remote
// payout, and the invariant checks.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('npm start -- --exit --json', () => {
  it('runs the canonical story and prints a summary that says every step held', () => {
    const r = spawnSync(
      path.join(ROOT, 'node_modules', '.bin', 'node'),
      ['relayer/cli/main.ts', 'start', '--exit', '--json'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
      },
    );
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] as string);
    expect(summary.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.chains).toHaveLength(3);
    expect(summary.nodes).toHaveLength(4);
    expect(summary.transactions.map((t: { step: string }) => t.step)).toEqual(
      expect.arrayContaining([
        'deposit WETH',
        'deposit USDC',
        'open 20 ETH long',
        'price update',
        'liquidation',
        'SEIZE paid out',
      ]),
    );
    for (const t of summary.transactions) expect(t.hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(Number(summary.health.before)).toBeGreaterThan(1);
    expect(Number(summary.health.afterPriceDrop)).toBeLessThan(1);
    expect(Number(summary.health.after)).toBeGreaterThanOrEqual(1);
    expect(Number(summary.liquidation.closeFraction)).toBeGreaterThan(0);
    expect(Number(summary.liquidation.closeFraction)).toBeLessThan(1);
    expect(summary.liquidation.remotePayoutConfirmed).toBe(true);
    expect(summary.liquidation.latencyBlocks).toBeGreaterThanOrEqual(1);
    // The SEIZE crosses to A after the liquidation: its payout is in a later block of A.
    expect(summary.liquidation.payoutLatencyBlocks).toBeGreaterThanOrEqual(1);
    expect(summary.invariants.length).toBeGreaterThan(3);
    for (const inv of summary.invariants) expect(inv.held, inv.name).toBe(true);
    console.log(`npm start summary: ${lines[lines.length - 1]}`);
  }, 320_000);
});
