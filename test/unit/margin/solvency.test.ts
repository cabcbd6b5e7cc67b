// The solvency rule and the node's watch on fakes: obligations summed per (vault chain, token) from
// credits and in-flight messages, a shortfall only when they exceed what the vault locks, the alert
// raised on the second consecutive short check (status, gauge, warn line) and cleared once covered,
// and no verdict while the vault chain cannot be read.

import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Address, ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { checkSolvency, collateralKey, obligations } from '../../../relayer/margin/solvency.ts';
import type { AccountMargin, InFlight } from '../../../relayer/margin/types.ts';
import type { BlockListener } from '../../../relayer/margin/view.ts';
import { createSolvencyWatch } from '../../../relayer/node/solvency.ts';

const A = 40101;
const B = 40102;
const WETH = '0x00000000000000000000000000000000000000AA' as Address;
const USDC = '0x00000000000000000000000000000000000000bb' as Address;
const E18 = 10n ** 18n;

function account(
  n: number,
  credit: Record<string, bigint>,
  inFlight: Partial<InFlight>[] = [],
): AccountMargin {
  const zero = { collateralValue: 0n, equity: 0n, maintenanceRequirement: 0n, initialRequirement: 0n };
  return {
    account: `0x${n.toString(16).padStart(40, '0')}` as Address,
    subaccount: 0n,
    locked: {},
    engines: [{ engineEid: B, credit, positions: [], settledBalance: 0n, health: undefined, distances: [] }],
    inFlight: inFlight.map((f) => ({
      id: '0x01' as Hex,
      kind: 'LOCK',
      srcEid: A,
      dstEid: B,
      account: '0x01' as Address,
      subaccount: 0n,
      token: WETH,
      tokenEid: A,
      amount: 0n,
      ...f,
    })),
    held: [],
    total: { ...zero, freeCollateral: 0n, distances: [] },
  };
}

describe('solvency rule', () => {
  it('sums credit and in-flight amounts per vault chain and token, whatever the address case', () => {
    const owed = obligations([
      account(1, { [`${A}:${WETH}`]: 2n * E18 }, [{ amount: E18 }, { kind: 'RELEASE', amount: 3n }]),
      account(2, { [`${A}:${WETH.toLowerCase()}`]: E18, [`${B}:${USDC}`]: 5n }),
    ]);
    expect(owed.get(collateralKey(A, WETH))).toEqual({ credit: 3n * E18, inFlight: E18 + 3n });
    expect(owed.get(collateralKey(B, USDC))).toEqual({ credit: 5n, inFlight: 0n });
  });

  it('reports a shortfall only where credit + in flight exceeds the locked amount', () => {
    const owed = obligations([account(1, { [`${A}:${WETH}`]: 2n * E18 }, [{ amount: E18 }])]);
    const lines = checkSolvency(
      owed,
      new Map([
        [collateralKey(A, WETH), 3n * E18 - 1n],
        [collateralKey(B, USDC), 0n],
      ]),
    );
    expect(lines).toEqual([
      {
        vaultEid: A,
        token: WETH.toLowerCase(),
        locked: 3n * E18 - 1n,
        credit: 2n * E18,
        inFlight: E18,
        shortfall: 1n,
      },
      { vaultEid: B, token: USDC.toLowerCase(), locked: 0n, credit: 0n, inFlight: 0n, shortfall: 0n },
    ]);
    // Held credits and surplus are fine: more locked than owed.
    expect(checkSolvency(owed, new Map([[collateralKey(A, WETH), 4n * E18]]))[0]?.shortfall).toBe(0n);
  });
});

describe('solvency watch', () => {
  const chain = {
    name: 'devnet-a',
    eid: A,
    xmargin: { vault: '0x00000000000000000000000000000000000000cc' },
    tokens: [{ symbol: 'WETH', address: WETH, decimals: 18 }],
  } as unknown as ChainConfig;

  function setup() {
    let locked = 3n * E18;
    let readable = true;
    const listeners: BlockListener[] = [];
    const accounts = [account(1, { [`${A}:${WETH}`]: 3n * E18 })];
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const registry = new Registry();
    const calls: { to: Address; data: Hex }[] = [];
    const watch = createSolvencyWatch({
      view: {
        obligations: () => obligations(accounts),
        onBlockApplied: (l) => {
          listeners.push(l);
          return () => listeners.splice(listeners.indexOf(l), 1);
        },
      },
      vaults: [
        {
          chain,
          call: async (tx) => {
            calls.push(tx);
            if (!readable) throw new Error('devnet-a: timed out');
            return `0x${locked.toString(16).padStart(64, '0')}` as Hex;
          },
        },
      ],
      registry,
      log,
      now: () => 1_000,
    });
    return {
      watch,
      registry,
      lines,
      calls,
      listeners,
      setLocked: (v: bigint) => {
        locked = v;
      },
      setReadable: (v: boolean) => {
        readable = v;
      },
    };
  }

  it('raises the alert on the second short check and clears it once covered', async () => {
    const t = setup();
    await t.watch.check();
    expect(t.watch.status()).toMatchObject({ ok: true, checks: 1, alerts: [] });
    // totalLocked(WETH) of the vault.
    expect(t.calls[0]).toEqual({
      to: chain.xmargin.vault,
      data: `0xd8fb9337${WETH.slice(2).toLowerCase().padStart(64, '0')}`,
    });

    t.setLocked(3n * E18 - 1n);
    await t.watch.check();
    expect(t.watch.status().ok).toBe(true); // one short check: maybe a message between two books
    await t.watch.check();
    const s = t.watch.status();
    expect(s.ok).toBe(false);
    expect(s.alerts).toEqual([
      {
        chain: 'devnet-a',
        token: WETH.toLowerCase(),
        symbol: 'WETH',
        locked: '2.999999999999999999',
        credit: '3.0',
        inFlight: '0.0',
        shortfall: '0.000000000000000001',
        since: 1_000,
      },
    ]);
    expect(await t.registry.getSingleMetricAsString('xmargin_solvency_shortfall')).toContain(
      'xmargin_solvency_shortfall{chain="devnet-a",token="WETH"} 1e-18',
    );
    expect(t.lines.filter((l) => l.includes('SOLVENCY ALERT'))).toHaveLength(1);
    await t.watch.check(); // still short: one warn line per alert, not per check
    expect(t.lines.filter((l) => l.includes('SOLVENCY ALERT'))).toHaveLength(1);

    t.setLocked(3n * E18);
    await t.watch.check();
    expect(t.watch.status()).toMatchObject({ ok: true, alerts: [] });
    expect(t.lines.some((l) => l.includes('solvency restored'))).toBe(true);
    expect(await t.registry.getSingleMetricAsString('xmargin_solvency_shortfall')).toContain(
      'xmargin_solvency_shortfall{chain="devnet-a",token="WETH"} 0',
    );
  });

  it('judges nothing while the vault chain cannot be read, and checks on every applied block', async () => {
    const t = setup();
    t.setReadable(false);
    t.setLocked(0n);
    await t.watch.check();
    await t.watch.check();
    expect(t.watch.status()).toMatchObject({ ok: true, checks: 0, lastError: 'devnet-a: timed out' });
    t.setReadable(true);
    expect(t.listeners).toHaveLength(1);
    for (let i = 0; i < 2; i++) {
      t.listeners[0]?.(A, { eid: A, number: i, hash: '0x00', timestamp: 0, events: [] });
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(t.watch.status()).toMatchObject({ ok: false, checks: 2 });
    t.watch.stop();
    expect(t.listeners).toHaveLength(0);
  });
});
