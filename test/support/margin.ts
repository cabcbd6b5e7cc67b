// Margin-view entries from plain dollar figures, for tests of what consumes the view (the rebalancer's
// decision and coordinator): health = equity / maintenance, as the engine computes it.

import type { Address } from '../../relayer/config/types.ts';
import type { AccountMargin, EngineMargin, InFlight, MarginEvent } from '../../relayer/margin/types.ts';

const WAD = 10n ** 18n;
/** Dollars (up to 6 decimals) as WAD USD. */
export const usd = (x: number): bigint => BigInt(Math.round(x * 1e6)) * 10n ** 12n;

/** An engine entry with no positions listed; `credit` per `${srcEid}:${token}`. */
export function engineEntry(
  eid: number,
  figures: { equity: number; maintenance: number; initial: number },
  credit: Record<string, bigint> = {},
): EngineMargin {
  const m = usd(figures.maintenance);
  const equity = usd(figures.equity);
  return {
    engineEid: eid,
    credit,
    positions: [],
    settledBalance: 0n,
    health: {
      collateralValue: equity,
      equity,
      maintenanceRequirement: m,
      initialRequirement: usd(figures.initial),
      notional: 0n,
      health: m === 0n ? 2n ** 256n - 1n : (equity * WAD) / m,
    },
    distances: [],
  };
}

export function accountMargin(
  account: Address,
  subaccount: bigint,
  engines: EngineMargin[],
  inFlight: InFlight[] = [],
): AccountMargin {
  return {
    account,
    subaccount,
    locked: {},
    engines,
    inFlight,
    held: [],
    total: {
      collateralValue: 0n,
      equity: 0n,
      maintenanceRequirement: 0n,
      initialRequirement: 0n,
      freeCollateral: 0n,
      distances: [],
    },
  };
}

/** The engine's PositionChanged for `account` opening `size` on market 1 from flat (negative: short). */
export function openedPosition(
  account: Address,
  size: bigint,
  entryPrice: bigint,
  settledAfter = 0n,
): MarginEvent {
  return {
    type: 'PositionChanged',
    account,
    subaccount: 0n,
    marketId: 1,
    sizeBefore: 0n,
    sizeAfter: size,
    entryPrice,
    settledAfter,
    liquidation: false,
  };
}
