// `npm start -- --exit --json` — the main job — runs its whole canonical story and ends with one JSON
// summary line: chains, nodes, transactions, health before and after, liquidation latency, the remote
// payout, the invariant checks and the wallets' balances; a bad flag fails in one line before it boots.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseUnits } from 'ethers';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');

describe('npm start -- --exit --json', () => {
  it('runs the canonical story and prints a summary that says every step held', () => {
    const r = spawnSync(NODE_BIN, ['relayer/cli/main.ts', 'start', '--exit', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] as string);
    expect(summary.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(summary.ok).toBe(true);
    expect(summary.chains).toHaveLength(3);
    expect(summary.chains.map((c: { name: string; eid: number }) => [c.name, c.eid])).toEqual([
      ['devnet-a', 40101],
      ['devnet-b', 40102],
      ['devnet-c', 40103],
    ]);
    expect(summary.nodes).toHaveLength(4);
    for (const n of summary.nodes) {
      expect(n.signer).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(n.peerId).toMatch(/^12D3KooW/);
      expect(n.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(new Set(summary.nodes.map((n: { peerId: string }) => n.peerId)).size).toBe(4);
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
    const health = {
      before: Number(summary.health.before),
      afterPriceDrop: Number(summary.health.afterPriceDrop),
      after: Number(summary.health.after),
    };
    expect(health.before).toBeGreaterThan(1);
    expect(health.afterPriceDrop).toBeLessThan(1);
    expect(health.after).toBeGreaterThan(health.afterPriceDrop);
    expect(health.after).toBeGreaterThanOrEqual(1);
    expect(Number(summary.liquidation.closeFraction)).toBeGreaterThan(0);
    expect(Number(summary.liquidation.closeFraction)).toBeLessThan(1);
    expect(summary.liquidation.latencyMs).toBeGreaterThan(0);
    expect(summary.liquidation.latencyBlocks).toBeGreaterThanOrEqual(1);
    expect(summary.liquidation.remotePayoutConfirmed).toBe(true);
    expect(summary.nodes.map((n: { signer: string }) => n.signer.toLowerCase())).toContain(
      summary.liquidation.liquidator.toLowerCase(),
    );
    // The SEIZE crosses to A after the liquidation: its payout is in a later block of A.
    expect(summary.liquidation.payoutLatencyBlocks).toBeGreaterThanOrEqual(1);
    expect(summary.invariants.length).toBeGreaterThan(3);
    for (const inv of summary.invariants) expect(inv.held, inv.name).toBe(true);
    // Wallets: the trader's deposited tokens, and the liquidator's WETH grew by exactly the payout.
    expect(summary.balances.trader.map((b: { chain: string; token: string }) => [b.chain, b.token])).toEqual([
      ['devnet-a', 'WETH'],
      ['devnet-b', 'USDC'],
    ]);
    const lb = summary.balances.liquidator;
    expect(lb).toMatchObject({ account: summary.liquidation.liquidator, chain: 'devnet-a', token: 'WETH' });
    expect(parseUnits(lb.afterPayout, 18) - parseUnits(lb.beforePayout, 18)).toBe(
      parseUnits(summary.liquidation.seized, 18),
    );
    expect(r.stderr).toContain('liquidator wallet: ');
    console.log(`npm start summary: ${lines[lines.length - 1]}`);
  }, 320_000);

  it('a bad flag is one line and exit 1, before anything boots', () => {
    const r = spawnSync(NODE_BIN, ['relayer/cli/main.ts', 'start', '--exit', '--json', '--bogus'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      "error: unknown option '--bogus' (run xmargin start --help for usage)",
    ]);
  });
});
