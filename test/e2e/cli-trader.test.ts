// The trader commands against a running devnet (automine): local deposit, open, positions, health,
// close, withdraw — each sending command after its quote — and their error paths, each one readable
// line with a non-zero exit.
// (Cross-chain legs need relayer nodes; they are covered by messaging.test.ts.)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts } from '../../relayer/chain/artifacts.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');

let devnet: Devnet | undefined;
let dir = '';
let manifestFile = '';

function x(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(
    NODE_BIN,
    [path.join(ROOT, 'relayer/cli/main.ts'), ...args, '--network', manifestFile],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function oneLineError(r: { code: number; stderr: string }): string {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  return lines[0] as string;
}

describe('trader CLI on a devnet', () => {
  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    dir = mkdtempSync(path.join(tmpdir(), 'xmargin-trader-'));
    manifestFile = path.join(dir, 'manifest.json');
    devnet = await startDevnet({ chains: 3, blockTime: 'automine', manifestPath: manifestFile });
  }, 120_000);

  afterAll(async () => {
    await devnet?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('deposit shows the fee quote, then credits the local engine', () => {
    const r = x('deposit', '--chain', 'devnet-b', '--token', 'WETH', '--amount', '2', '--engine', 'devnet-b');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fee quote: 0\.0 /);
    expect(r.stdout).toMatch(/deposited 2 WETH on devnet-b for devnet-b: 0x[0-9a-f]{64}/);
  });

  it('open shows the trade quote, then positions --json and health --json agree with the engine', () => {
    const open = x('open', '--engine', 'devnet-b', '--size', '5');
    expect(open.stderr).toBe('');
    expect(open.code).toBe(0);
    // 5 ETH at 2000: fee 5 bp of 10,000; equity 3200 - 5; initial margin 10% of 10,000.
    expect(open.stdout).toMatch(
      /^trade quote: buy 5\.0 in market 1 on devnet-b at the oracle price 2000\.00 USD \(any price accepted\); trading fee 5\.00 USD \(0\.05%\); initial-margin health after 3\.195 \(equity 3195\.00 \/ requirement 1000\.00 USD/,
    );
    expect(open.stdout).toMatch(/traded 5 on devnet-b market 1: 0x[0-9a-f]{64}/);
    const positions = JSON.parse(x('positions', '--json').stdout) as { chain: string; size: string }[];
    expect(positions).toEqual([
      expect.objectContaining({ chain: 'devnet-b', size: (5n * 10n ** 18n).toString() }),
    ]);
    const health = JSON.parse(x('health', '--json').stdout) as {
      chain: string;
      health: string | null;
      collateralValue: string;
    }[];
    const b = health.find((h) => h.chain === 'devnet-b');
    // 2 WETH × 2000 × 0.8 = 3200 of collateral; 5 ETH long: MM 500, fee 5 → health 6.39
    expect(b?.collateralValue).toBe((3200n * 10n ** 18n).toString());
    expect(b?.health).toBe((639n * 10n ** 16n).toString());
    expect(health.find((h) => h.chain === 'devnet-c')?.health).toBeNull();
    const table = x('health');
    expect(table.stdout).toContain('devnet-b');
    expect(table.stdout).toContain('WETH 2.0 locked on devnet-b');
  });

  it('withdraw below initial margin is refused on chain, in one line', () => {
    const line = oneLineError(
      x('withdraw', '--engine', 'devnet-b', '--from', 'devnet-b', '--token', 'WETH', '--amount', '1.9'),
    );
    expect(line).toMatch(/the chain refused: BelowInitialMargin\(equity=\d+, initialRequirement=\d+\) — /);
  });

  it('close shows the trade quote, then withdraw pays out on the same chain', () => {
    const close = x('close', '--engine', 'devnet-b');
    expect(close.stderr).toBe('');
    expect(close.code).toBe(0);
    expect(close.stdout).toMatch(
      /^trade quote: sell 5\.0 in market 1 on devnet-b at the oracle price 2000\.00 USD \(any price accepted\); trading fee 5\.00 USD \(0\.05%\); initial-margin health after ∞ \(equity 3190\.00 \/ requirement 0\.00 USD/,
    );
    expect(JSON.parse(x('positions', '--json').stdout)).toEqual([]);
    const r = x('withdraw', '--engine', 'devnet-b', '--from', 'devnet-b', '--token', 'WETH', '--amount', '1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/withdrawal requested: 0x/);
  });

  it('move shows both fees and sends the MOVE (its LOCK waits for relayers, which this devnet has none of)', () => {
    expect(
      x('deposit', '--chain', 'devnet-b', '--token', 'WETH', '--amount', '1', '--engine', 'devnet-b').code,
    ).toBe(0);
    const r = x(
      'move',
      '--engine',
      'devnet-b',
      '--from',
      'devnet-b',
      '--token',
      'WETH',
      '--amount',
      '0.5',
      '--to',
      'devnet-c',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fee quote: [\d.]+ \(native, both hops; [\d.]+ of it for the vault's LOCK\)/);
    expect(r.stdout).toMatch(/move requested: 0x[0-9a-f]{64}/);
    const health = JSON.parse(x('health', '--json').stdout) as {
      chain: string;
      collaterals: { amount: string }[];
    }[];
    expect(health.find((h) => h.chain === 'devnet-b')?.collaterals[0]?.amount).toBe(
      (15n * 10n ** 17n).toString(),
    );
    expect(
      oneLineError(
        x(
          'move',
          '--engine',
          'devnet-b',
          '--from',
          'devnet-b',
          '--token',
          'WETH',
          '--amount',
          '1',
          '--to',
          'devnet-b',
        ),
      ),
    ).toMatch(/SameEngine/);
  });

  it('bad input gets one line naming the problem', () => {
    expect(
      oneLineError(
        x('deposit', '--chain', 'devnet-b', '--token', 'NOPE', '--amount', '1', '--engine', 'devnet-b'),
      ),
    ).toMatch(/devnet-b has no token "NOPE" — use one of WETH/);
    expect(
      oneLineError(
        x('deposit', '--chain', 'devnet-z', '--token', 'WETH', '--amount', '1', '--engine', 'devnet-b'),
      ),
    ).toMatch(/unknown chain "devnet-z"/);
    expect(
      oneLineError(
        x('deposit', '--chain', 'devnet-b', '--token', 'WETH', '--amount', 'lots', '--engine', 'devnet-b'),
      ),
    ).toMatch(/amount "lots"/);
    expect(oneLineError(x('open', '--engine', 'devnet-a', '--size', '1'))).toMatch(
      /devnet-a hosts no market — use one of devnet-b, devnet-c/,
    );
    expect(oneLineError(x('close', '--engine', 'devnet-c'))).toMatch(/no open position/);
    expect(x('deposit', '--chain', 'devnet-b').code).not.toBe(0);
  });

  it('open and close --json carry the quote; a price bound the oracle misses is refused in one line', () => {
    expect(oneLineError(x('open', '--engine', 'devnet-b', '--size', '1', '--price', '1990'))).toMatch(
      /PriceNotAcceptable\(price=2000000000000000000000, acceptablePrice=1990000000000000000000\)/,
    );
    const open = x('open', '--engine', 'devnet-b', '--size', '-1', '--price', '1990', '--json');
    expect(open.stderr).toBe('');
    expect(open.code).toBe(0);
    const opened = JSON.parse(open.stdout) as { quote: Record<string, string | null>; txHash: string };
    expect(opened.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(opened.quote).toMatchObject({
      chain: 'devnet-b',
      size: (-(10n ** 18n)).toString(),
      positionAfter: (-(10n ** 18n)).toString(),
      oraclePrice: (2000n * 10n ** 18n).toString(),
      acceptablePrice: (1990n * 10n ** 18n).toString(),
      tradingFee: (10n ** 18n).toString(),
    });
    expect(BigInt(opened.quote.initialHealthAfter as string)).toBeGreaterThan(10n ** 18n);
    const close = JSON.parse(x('close', '--engine', 'devnet-b', '--json').stdout) as {
      quote: Record<string, string | null>;
    };
    expect(close.quote).toMatchObject({ size: (10n ** 18n).toString(), positionAfter: '0' });
    expect(close.quote.initialHealthAfter).toBeNull();
    expect(JSON.parse(x('positions', '--json').stdout)).toEqual([]);
  });
});
