// The node's solvency watch: after every block the margin view applies, it reads each served vault's
// `totalLocked(token)` and checks it covers the engines' credit plus what is in flight
// (relayer/margin/solvency.ts). A shortfall seen on `confirmChecks` consecutive checks (default 2: a
// cross-chain message is briefly on neither side's books while the view's chains are applied one
// after the other) raises an alert: `solvency` in /status, the xmargin_solvency_shortfall gauge, and a
// warn log line. Vault chains the node only observes are not checked (it cannot read them).

import { formatUnits, Interface } from 'ethers';
import { Gauge, type Registry } from 'prom-client';
import type { SolvencyAlert, SolvencyStatus } from '../api/types.ts';
import type { Address, ChainConfig, Hex } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { MarginView } from '../margin/index.ts';
import { type CollateralKey, checkSolvency, collateralKey, type SolvencyLine } from '../margin/solvency.ts';

const VAULT = new Interface(['function totalLocked(address token) view returns (uint256)']);

export interface SolvencyWatchOptions {
  view: Pick<MarginView, 'obligations' | 'onBlockApplied'>;
  /** Served chains with a vault, and how to eth_call them. */
  vaults: { chain: ChainConfig; call: (tx: { to: Address; data: Hex }) => Promise<Hex> }[];
  registry: Registry;
  log: Logger;
  confirmChecks?: number;
  now?: () => number;
}

export interface SolvencyWatch {
  status(): SolvencyStatus;
  /** Runs one check now (also run after every applied block). */
  check(): Promise<void>;
  stop(): void;
}

export function createSolvencyWatch(options: SolvencyWatchOptions): SolvencyWatch {
  const { log, view } = options;
  const now = options.now ?? Date.now;
  const confirmChecks = options.confirmChecks ?? 2;
  const gauge = new Gauge({
    name: 'xmargin_solvency_shortfall',
    help: 'Engine credit plus in-flight amounts above what the vault has locked, token units (0: covered)',
    labelNames: ['chain', 'token'],
    registers: [options.registry],
  });
  const tokens = options.vaults.flatMap(({ chain, call }) =>
    chain.tokens.map((t) => ({ chain, call, token: t, key: collateralKey(chain.eid, t.address) })),
  );
  /** Consecutive checks each pair has been short, and since when. */
  const short = new Map<CollateralKey, { count: number; since: number }>();
  let alerts: SolvencyAlert[] = [];
  let checks = 0;
  let checkedAt: number | null = null;
  let lastError: string | undefined;

  const readLocked = async (): Promise<Map<CollateralKey, bigint>> => {
    const out = new Map<CollateralKey, bigint>();
    for (const t of tokens) {
      const data = VAULT.encodeFunctionData('totalLocked', [t.token.address]) as Hex;
      const raw = await t.call({ to: t.chain.xmargin.vault, data });
      out.set(t.key, BigInt(raw));
    }
    return out;
  };

  const toAlert = (line: SolvencyLine, since: number): SolvencyAlert => {
    const t = tokens.find((x) => x.key === collateralKey(line.vaultEid, line.token));
    const fmt = (v: bigint) => formatUnits(v, t?.token.decimals ?? 18);
    return {
      chain: t?.chain.name ?? String(line.vaultEid),
      token: line.token,
      ...(t === undefined ? {} : { symbol: t.token.symbol }),
      locked: fmt(line.locked),
      credit: fmt(line.credit),
      inFlight: fmt(line.inFlight),
      shortfall: fmt(line.shortfall),
      since,
    };
  };

  const check = async (): Promise<void> => {
    let locked: Map<CollateralKey, bigint>;
    try {
      locked = await readLocked();
    } catch (err) {
      // The chain is unreadable: the RPC's own status says so; judge nothing from half the data.
      lastError = err instanceof Error ? err.message : String(err);
      return;
    }
    lastError = undefined;
    // From the view's raw credits and in-flight messages: no margin is computed for this.
    const lines = checkSolvency(view.obligations(), locked);
    const next: SolvencyAlert[] = [];
    for (const line of lines) {
      const key = collateralKey(line.vaultEid, line.token);
      const chain = tokens.find((t) => t.key === key);
      const labels = {
        chain: chain?.chain.name ?? String(line.vaultEid),
        token: chain?.token.symbol ?? line.token,
      };
      if (line.shortfall === 0n) {
        if (short.has(key) && (short.get(key)?.count ?? 0) >= confirmChecks)
          log.info(labels, 'solvency restored');
        short.delete(key);
        gauge.set(labels, 0);
        continue;
      }
      const s = short.get(key) ?? { count: 0, since: now() };
      s.count++;
      short.set(key, s);
      if (s.count < confirmChecks) continue;
      const alert = toAlert(line, s.since);
      next.push(alert);
      gauge.set(labels, Number(alert.shortfall));
      if (s.count === confirmChecks) {
        log.warn(
          { ...labels, locked: alert.locked, credit: alert.credit, inFlight: alert.inFlight },
          `SOLVENCY ALERT: ${labels.chain} ${labels.token}: vault locks ${alert.locked}, engines credit ${alert.credit} + ${alert.inFlight} in flight (short ${alert.shortfall})`,
        );
      }
    }
    alerts = next;
    checks++;
    checkedAt = now();
  };

  // One check at a time; blocks that land meanwhile are folded into one more check.
  let running: Promise<void> | undefined;
  let again = false;
  const schedule = (): void => {
    if (running !== undefined) {
      again = true;
      return;
    }
    running = check()
      .catch((err: unknown) => log.error({ err: String(err) }, 'solvency check failed'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          schedule();
        }
      });
  };
  const off = tokens.length === 0 ? () => {} : view.onBlockApplied(() => schedule());

  return {
    status: () => ({
      ok: alerts.length === 0,
      checks,
      checkedAt,
      alerts,
      ...(lastError === undefined ? {} : { lastError }),
    }),
    check,
    stop: off,
  };
}
