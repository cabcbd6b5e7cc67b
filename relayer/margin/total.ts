// One cross-chain figure per sub-account, from its engine entries: collateral value after haircuts,
// equity, maintenance and initial requirements summed over engines, the free collateral, and per
// asset the nearest price move (over every engine that reads that asset's price) that brings an
// engine to health 1.

import type { ChainConfig } from '../config/types.ts';
import type { AccountMargin, AssetDistance, EngineMargin, LiquidationDistance } from './types.ts';

/** Names the asset a distance's price stands for, the same name on every chain (e.g. "WETH"). */
export type AssetNamer = (d: LiquidationDistance) => string;

export function accountTotal(engines: readonly EngineMargin[], assetOf: AssetNamer): AccountMargin['total'] {
  let collateralValue = 0n;
  let equity = 0n;
  let maintenanceRequirement = 0n;
  let initialRequirement = 0n;
  let freeCollateral = 0n;
  for (const e of engines) {
    const h = e.health;
    if (h === undefined) continue;
    collateralValue += h.collateralValue;
    equity += h.equity;
    maintenanceRequirement += h.maintenanceRequirement;
    initialRequirement += h.initialRequirement;
    // Per engine, then summed; a shortfall is not netted against another engine's surplus. Each
    // engine is its own margin account: a withdrawal or MOVE out of it is refused below its initial
    // requirement, and its surplus covers another engine's shortfall only once moved there. So the
    // sum of what each engine could release is what the trader can withdraw or move now; the netted
    // figure (equity − initial requirement, both above) would overstate it when one engine is short.
    const free = h.equity - h.initialRequirement;
    if (free > 0n) freeCollateral += free;
  }
  return {
    collateralValue,
    equity,
    maintenanceRequirement,
    initialRequirement,
    freeCollateral,
    distances: nearestByAsset(engines, assetOf),
  };
}

/**
 * Per asset, the smallest move (by size) over every engine's distance of a price of that asset: the
 * move at which the first engine reaches health 1. null when no move of that price alone gets any
 * engine there. Sorted by asset name.
 */
function nearestByAsset(engines: readonly EngineMargin[], assetOf: AssetNamer): AssetDistance[] {
  const best = new Map<string, AssetDistance>();
  for (const e of engines) {
    for (const d of e.distances) {
      const asset = assetOf(d);
      const seen = best.get(asset);
      const closer =
        seen === undefined ||
        (d.move !== null && (seen.move === null || Math.abs(d.move) < Math.abs(seen.move)));
      if (closer) best.set(asset, { asset, move: d.move, engineEid: e.engineEid, priceKey: d.priceKey });
    }
  }
  return [...best.values()].sort((a, b) => (a.asset < b.asset ? -1 : a.asset > b.asset ? 1 : 0));
}

/**
 * Names assets by the tokens of the chains' configs: risk asset ids are shared across chains, so an
 * id is named by the first token (in config order) that counts as it — one name on every engine, even
 * where two tokens count as one asset (ETH and WETH). A price that prices no risk asset (a market's
 * own feed) is named by the token whose feed or price adapter it is, else by its price key.
 */
export function assetNamer(chains: readonly ChainConfig[]): AssetNamer {
  const byAssetId = new Map<number, string>();
  for (const c of chains)
    for (const t of c.tokens)
      if (t.assetId !== undefined && !byAssetId.has(t.assetId)) byAssetId.set(t.assetId, t.symbol);
  return (d) => {
    for (const id of d.assetIds) {
      const symbol = byAssetId.get(id);
      if (symbol !== undefined) return symbol;
    }
    const address = d.priceKey.slice(d.priceKey.indexOf(':') + 1).toLowerCase();
    const tokens = chains.find((c) => c.eid === d.engineEid)?.tokens ?? [];
    const t = tokens.find(
      (x) => x.feed?.toLowerCase() === address || x.priceAdapter?.toLowerCase() === address,
    );
    return t?.symbol ?? d.priceKey;
  };
}
