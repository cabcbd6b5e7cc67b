// Adapts the margin view and the liquidation journal to what GET /status and the dashboard show:
// plain numbers and decimal strings, chain names instead of eids, one line per liquidation.

import { formatUnits, getAddress } from 'ethers';
import type { AccountStatus, LiquidationEntry, RebalanceEntry } from '../api/types.ts';
import type { ChainConfig } from '../config/types.ts';
import type { LiquidationRecord } from '../liquidation/index.ts';
import type { MarginView, EngineMargin as ViewEngineMargin } from '../margin/index.ts';
import type { RebalanceRecord } from '../rebalance/index.ts';

/** VaR and breach probability of one engine entry (relayer/risk); undefined without price history. */
export type EngineRiskSource = (
  e: ViewEngineMargin,
) => { varUsd: number; breachProbability: number } | undefined;

const MAX_HEALTH = 2n ** 256n - 1n;
const wad = (x: bigint): string => formatUnits(x, 18);

export function accountStatuses(
  view: MarginView,
  chains: ChainConfig[],
  risk?: EngineRiskSource,
): AccountStatus[] {
  const chainName = (eid: number) => chains.find((c) => c.eid === eid)?.name ?? String(eid);
  const tokenOf = (eid: number, address: string) =>
    chains.find((c) => c.eid === eid)?.tokens.find((t) => t.address.toLowerCase() === address.toLowerCase());
  const out: AccountStatus[] = [];
  for (const { account, subaccount } of view.accounts()) {
    const m = view.account(account, subaccount);
    if (m === undefined) continue;
    out.push({
      // Checksummed, as wallets and explorers show it.
      account: getAddress(account),
      subaccount: subaccount.toString(),
      engines: m.engines.map((e) => {
        const h = e.health;
        const moves = e.distances.map((d) => d.move).filter((x): x is number => x !== null);
        const nearest = moves.length === 0 ? undefined : Math.min(...moves.map((x) => Math.abs(x)));
        const r = risk?.(e);
        return {
          engineEid: e.engineEid,
          chain: chainName(e.engineEid),
          health: h === undefined || h.health === MAX_HEALTH ? null : Number(wad(h.health)),
          equity: h === undefined ? '0' : wad(h.equity),
          collateralValue: h === undefined ? '0' : wad(h.collateralValue),
          maintenance: h === undefined ? '0' : wad(h.maintenanceRequirement),
          initial: h === undefined ? '0' : wad(h.initialRequirement),
          ...(nearest === undefined ? {} : { liquidationDistancePct: nearest * 100 }),
          ...(r === undefined ? {} : { varUsd: r.varUsd, breachProbability: r.breachProbability }),
        };
      }),
      collateral: Object.entries(m.locked)
        .filter(([, amount]) => amount > 0n)
        .map(([key, amount]) => {
          const [eid, token] = key.split(':') as [string, string];
          const t = tokenOf(Number(eid), token);
          return {
            chain: chainName(Number(eid)),
            token,
            ...(t === undefined ? {} : { symbol: t.symbol }),
            amount: formatUnits(amount, t?.decimals ?? 18),
          };
        }),
      total: {
        collateralValue: wad(m.total.collateralValue),
        equity: wad(m.total.equity),
        maintenance: wad(m.total.maintenanceRequirement),
        initial: wad(m.total.initialRequirement),
        freeCollateral: wad(m.total.freeCollateral),
        liquidationDistances: m.total.distances.map((d) => ({
          asset: d.asset,
          movePct: d.move === null ? null : d.move * 100,
          chain: chainName(d.engineEid),
          engineEid: d.engineEid,
        })),
      },
    });
  }
  return out;
}

export function liquidationEntries(records: LiquidationRecord[], chains: ChainConfig[]): LiquidationEntry[] {
  const chainOf = (eid: number) => chains.find((c) => c.eid === eid);
  return records
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, 50)
    .map((r) => ({
      id: r.id,
      account: getAddress(r.account),
      subaccount: r.subaccount.toString(),
      engineEid: r.engineEid,
      chain: chains.find((c) => c.eid === r.engineEid)?.name ?? String(r.engineEid),
      state: r.status,
      at: r.updatedAt,
      ...(r.txHash === undefined ? {} : { txHash: r.txHash }),
      ...(r.healthBefore === undefined ? {} : { health: Number(wad(r.healthBefore)) }),
      ...(r.error === undefined ? {} : { detail: r.error.split('\n')[0] ?? r.error }),
      ...(r.badDebt === undefined
        ? {}
        : {
            badDebt: {
              coveredByInsurance: r.badDebt.coveredByInsurance.toString(),
              writtenOff: r.badDebt.writtenOff.toString(),
            },
          }),
      ...(r.seizures === undefined || r.seizures.length === 0
        ? {}
        : {
            seizures: r.seizures.map((z) => {
              const chain = chainOf(z.srcEid);
              const t = chain?.tokens.find((x) => x.address.toLowerCase() === z.token.toLowerCase());
              return {
                id: z.id,
                chain: chain?.name ?? String(z.srcEid),
                token: z.token,
                ...(t === undefined ? {} : { symbol: t.symbol }),
                amount: formatUnits(z.amount, t?.decimals ?? 18),
                status: z.status,
                ...(z.payoutTx === undefined ? {} : { payoutTx: z.payoutTx }),
                ...(z.latencyMs === undefined ? {} : { latencyMs: z.latencyMs }),
                ...(z.error === undefined ? {} : { detail: z.error }),
              };
            }),
          }),
    }));
}

/** The rebalancer's journal as status lines: most recent first, chain names, token units. */
export function rebalanceEntries(records: RebalanceRecord[], chains: ChainConfig[]): RebalanceEntry[] {
  const chainName = (eid: number) => chains.find((c) => c.eid === eid)?.name ?? String(eid);
  const health = (h: bigint | undefined) =>
    h === undefined ? undefined : h === MAX_HEALTH ? null : Number(wad(h));
  return records
    .sort((a, b) => b.updatedAt - a.updatedAt)
    .slice(0, 50)
    .map((r) => {
      const t = chains
        .find((c) => c.eid === r.srcEid)
        ?.tokens.find((x) => x.address.toLowerCase() === r.token.toLowerCase());
      const after = health(r.dstHealthAfter);
      return {
        id: r.id,
        account: getAddress(r.account),
        subaccount: r.subaccount.toString(),
        from: chainName(r.srcEngineEid),
        to: chainName(r.dstEngineEid),
        state: r.status,
        at: r.updatedAt,
        amount: formatUnits(r.amount, t?.decimals ?? 18),
        ...(t === undefined ? {} : { symbol: t.symbol }),
        valueUsd: Number(wad(r.valueUsd)),
        healthBefore: health(r.dstHealthBefore) ?? null,
        ...(after === undefined ? {} : { healthAfter: after }),
        ...(r.txHash === undefined ? {} : { txHash: r.txHash }),
        ...(r.latencyMs === undefined ? {} : { latencyMs: r.latencyMs }),
        ...(r.error === undefined ? {} : { detail: r.error.split('\n')[0] ?? r.error }),
      };
    });
}
