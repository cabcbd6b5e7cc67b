// `xmargin deploy` for one chain of a networks file, declaratively: the vault with the chain's tokens,
// and — when the chain has an `engine` section — ChainlinkPriceAdapters for the feeds named there, the
// MarginEngine, the PerpMarket, risk assets, collateral sources, markets and liquidation rules. The
// plan is built without touching a chain (so `--dry-run` prints it offline); executing it deploys the
// adapters, then hands the resolved EngineSpec to deployXmargin (./xmargin.ts), the devnet's code path.
//
// Collateral sources: every token, on every chain of the file, whose symbol is a key of the engine's
// `riskAssets` (the engine chain's own tokens included). Vault assets and sources get the LOW default
// caps (DEFAULT_CAPS) unless the file gives caps (`tokens[].caps`, `riskAssets.<symbol>.sourceCaps`): a
// new network starts low, and the configuration raises its caps over time (`xmargin wire` applies them).
//
// Every engine also gets its Rebalancer (executors: the file's `dvn.signers`, the nodes' keys) and its
// WeightGovernor (signers and quorum of `dvn`, defaultWeightBounds per risk asset).
//
// xmargin's DVN: a chain whose `layerZero.dvn` is still the zero address (the placeholder of
// networks.example.json) gets one, LayerZero's own DVN contract from the sdk artifacts, unmodified:
// signers and quorum of `dvn`, ADMIN_ROLE for the deployer (wire sets its fee configs) and the signers
// (the nodes submit DVN.execute), its fee library LayerZero's DVNFeeLib already on the chain.

import { formatUnits, Interface, parseUnits } from 'ethers';
import { readArtifact, readLzArtifact } from '../chain/artifacts.ts';
import type { TxSender } from '../chain/tx.ts';
import type { NetworkChain, NetworksFile } from '../config/load.ts';
import { formatWad, parseWad, riskAssetIds } from '../config/schemas.ts';
import type {
  Address,
  EngineConfig,
  PriceSourceConfig,
  SourceCapsConfig,
  VaultCapsConfig,
  XmarginContracts,
} from '../config/types.ts';
import {
  type CollateralSourceSpec,
  DAY,
  DEFAULT_CAPS,
  DEFAULT_LIQUIDATION,
  defaultWeightBounds,
  deployXmargin,
  type EngineSpec,
  type LiquidationSpec,
  type MarketSpec,
  type VaultAssetSpec,
  type WeightGovernorSpec,
} from './xmargin.ts';

/** Shortest time between two weight updates of one asset on a deployed network (seconds). */
export const WEIGHT_UPDATE_INTERVAL = 3_600n;
/** Staleness limit of an adapter deployed over a feed whose entry gives no `maxAge` (seconds). */
export const DEFAULT_FEED_MAX_AGE = 86_400;
const ZERO: Address = '0x0000000000000000000000000000000000000000';

/** A ChainlinkPriceAdapter the deploy creates: one per (feed, maxAge), shared by whatever uses it. */
export interface AdapterToDeploy {
  feed: Address;
  maxAge: number;
  /** Risk-asset symbols and market symbols that read it. */
  usedBy: string[];
}

/** An oracle of the plan: an existing adapter, or the n-th adapter of `adapters`. */
export type OracleRef = { adapter: Address } | { newAdapter: number };

/** xmargin's DVN to deploy on a chain that has none yet. */
export interface DvnToDeploy {
  signers: Address[];
  quorum: number;
}

export interface NetworkDeployPlan {
  chain: NetworkChain;
  dvn?: DvnToDeploy;
  vaultAssets: (VaultAssetSpec & { symbol: string })[];
  adapters: AdapterToDeploy[];
  engine?: {
    quoteToken: Address;
    quoteSymbol: string;
    riskAssets: {
      symbol: string;
      assetId: number;
      weight: bigint;
      oracle: OracleRef;
      depthThousandUsd?: number;
    }[];
    sources: (CollateralSourceSpec & { chain: string; symbol: string })[];
    markets: (Omit<MarketSpec, 'oracle'> & { symbol: string; oracle: OracleRef })[];
    liquidation: LiquidationSpec;
    /** The Rebalancer's executors: the nodes' signers (the networks file's `dvn.signers`). */
    rebalancerExecutors: Address[];
    /** The WeightGovernor: the attestor signers and quorum of `dvn`, default bounds per risk asset. */
    weightGovernor: WeightGovernorSpec;
  };
}

/** What `xmargin deploy --network <chainName>` would do; throws naming the chains if there is none. */
export function planDeploy(networks: NetworksFile, chainName: string, file: string): NetworkDeployPlan {
  const chain = networks.chains.find((c) => c.name === chainName);
  if (chain === undefined) {
    throw new Error(
      `${file}: no chain named "${chainName}" — use one of ${networks.chains.map((c) => c.name).join(', ')}`,
    );
  }
  const plan: NetworkDeployPlan = {
    chain,
    vaultAssets: chain.tokens.map((t) => ({
      symbol: t.symbol,
      token: t.address,
      decimals: t.decimals,
      ...vaultCapsOf(t),
    })),
    adapters: [],
    ...(BigInt(chain.layerZero.dvn) === 0n
      ? { dvn: { signers: networks.dvn.signers, quorum: networks.dvn.quorum } }
      : {}),
  };
  const e = chain.engine;
  if (e === undefined) return plan;

  const oracle = (src: PriceSourceConfig, user: string): OracleRef => {
    if (src.priceAdapter !== undefined) return { adapter: src.priceAdapter };
    const feed = src.feed as Address; // the schema requires one of the two
    const maxAge = src.maxAge ?? DEFAULT_FEED_MAX_AGE;
    let i = plan.adapters.findIndex(
      (a) => a.feed.toLowerCase() === feed.toLowerCase() && a.maxAge === maxAge,
    );
    if (i < 0) i = plan.adapters.push({ feed, maxAge, usedBy: [] }) - 1;
    plan.adapters[i]?.usedBy.push(user);
    return { newAdapter: i };
  };

  const ids = riskAssetIds(e);
  const quote = chain.tokens.find((t) => t.symbol === e.quoteToken);
  if (quote === undefined)
    throw new Error(`${chain.name}: no token "${e.quoteToken}" (checked by the schema)`);
  const riskAssets = Object.entries(e.riskAssets).map(([symbol, r]) => ({
    symbol,
    assetId: ids.get(symbol) as number,
    weight: parseWad(r.weight),
    oracle: oracle(r, symbol),
    ...(r.depthUsd === undefined ? {} : { depthThousandUsd: r.depthUsd / 1_000 }),
  }));
  const sources = collateralSourcesOf(chain.eid, e, networks.chains);
  const markets = e.markets.map((m) => ({
    marketId: m.id,
    symbol: m.symbol,
    oracle: oracle(m, m.symbol),
    tradingFee: parseWad(m.tradingFee),
    borrowRatePerSecond: parseWad(m.borrowRatePerSecond),
    initialMargin: parseWad(m.initialMargin),
    maintenanceMargin: parseWad(m.maintenanceMargin),
    openInterestCap: parseWad(m.openInterestCap),
  }));
  const l = e.liquidation ?? {};
  const wadOr = (s: string | undefined, d: bigint): bigint => (s === undefined ? d : parseWad(s));
  plan.engine = {
    quoteToken: quote.address,
    quoteSymbol: quote.symbol,
    riskAssets,
    sources,
    markets,
    liquidation: {
      bonus: wadOr(l.bonus, DEFAULT_LIQUIDATION.bonus),
      targetHealth: wadOr(l.targetHealth, DEFAULT_LIQUIDATION.targetHealth),
      fullCloseHealth: wadOr(l.fullCloseHealth, DEFAULT_LIQUIDATION.fullCloseHealth),
      dustNotional: wadOr(l.dustNotional, DEFAULT_LIQUIDATION.dustNotional),
    },
    rebalancerExecutors: networks.dvn.signers,
    weightGovernor: {
      signers: networks.dvn.signers,
      quorum: networks.dvn.quorum,
      bounds: riskAssets.map((r) => defaultWeightBounds(r.assetId, WEIGHT_UPDATE_INTERVAL)),
    },
  };
  return plan;
}

/**
 * The collateral sources of the engine `e` on the chain `engineEid`: every token, on every chain of the
 * file (the engine's own included), whose symbol is a key of its `riskAssets`; staleness on remote ones.
 */
export function collateralSourcesOf(
  engineEid: number,
  e: EngineConfig,
  chains: readonly Pick<NetworkChain, 'name' | 'eid' | 'tokens'>[],
): (CollateralSourceSpec & { chain: string; symbol: string })[] {
  const ids = riskAssetIds(e);
  return chains.flatMap((c) =>
    c.tokens
      .filter((t) => ids.has(t.symbol))
      .map((t) => ({
        chain: c.name,
        symbol: t.symbol,
        srcEid: c.eid,
        token: t.address,
        assetId: ids.get(t.symbol) as number,
        decimals: t.decimals,
        ...sourceCapsOf(e.riskAssets[t.symbol]?.sourceCaps, t.decimals),
        ...(e.staleness !== undefined && c.eid !== engineEid
          ? { staleGraceSec: e.staleness.graceSec, staleDecaySec: e.staleness.decaySec }
          : {}),
      })),
  );
}

/** A vault asset's caps from the file (whole tokens → token units, a day's window); none if not given. */
export function vaultCapsOf(t: {
  decimals: number;
  caps?: VaultCapsConfig | undefined;
}): Pick<VaultAssetSpec, 'supplyCap' | 'outflowCapacity' | 'outflowWindow'> {
  if (t.caps === undefined) return {};
  return {
    supplyCap: parseUnits(t.caps.supply, t.decimals),
    outflowCapacity: parseUnits(t.caps.outflowPerDay, t.decimals),
    outflowWindow: DAY,
  };
}

/** A collateral source's caps from the file (whole tokens → token units, a day's window); none if not given. */
export function sourceCapsOf(
  caps: SourceCapsConfig | undefined,
  decimals: number,
): Pick<CollateralSourceSpec, 'creditCap' | 'bridgeCapacity' | 'bridgeWindow'> {
  if (caps === undefined) return {};
  return {
    creditCap: parseUnits(caps.credit, decimals),
    bridgeCapacity: parseUnits(caps.bridgedPerDay, decimals),
    bridgeWindow: DAY,
  };
}

const pct = (v: bigint): string => formatWad(v);
const window = (s: bigint): string => (s === 86_400n ? 'day' : `${s} s`);

/**
 * One line per transaction deployXmargin (and the adapters before it) will send, in order:
 * `<chain>  <what>  — <details>`. Its length is the number of transactions.
 */
export function describePlan(plan: NetworkDeployPlan): string[] {
  const name = plan.chain.name;
  const out: string[] = [];
  const line = (what: string, detail: string): number => out.push(`${name}  ${what}  — ${detail}`);
  const oracleText = (o: OracleRef): string =>
    'adapter' in o ? `adapter ${o.adapter}` : `new adapter over feed ${plan.adapters[o.newAdapter]?.feed}`;
  const e = plan.engine;
  const lz = plan.chain.layerZero;
  if (plan.dvn !== undefined) {
    line(
      "deploy DVN (xmargin's verifier)",
      `LayerZero's DVN from the sdk artifacts: the ${plan.dvn.signers.length} dvn.signers, quorum ${plan.dvn.quorum}, vid ${dvnVid(plan.chain.eid)}, libraries ${lz.sendUln302} ${lz.receiveUln302}, admins the deployer and the signers`,
    );
    line('dvn.setWorkerFeeLib', `LayerZero's DVNFeeLib ${lz.dvnFeeLib}`);
  }
  for (const a of plan.adapters) {
    line('deploy ChainlinkPriceAdapter', `feed ${a.feed}, maxAge ${a.maxAge} s, for ${a.usedBy.join(', ')}`);
  }
  line('deploy CollateralVault', `endpoint ${plan.chain.layerZero.endpointV2}, owner the deployer`);
  line('vault.setGuardian', 'the deployer');
  for (const v of plan.vaultAssets) {
    line(
      `vault.setAssetConfig(${v.symbol} ${v.token})`,
      v.supplyCap === undefined
        ? `supply cap ${DEFAULT_CAPS.vaultSupplyCap} ${v.symbol}, outflow ${DEFAULT_CAPS.vaultOutflowCapacity} ${v.symbol} per ${window(DEFAULT_CAPS.vaultOutflowWindow)} (low default caps)`
        : `supply cap ${formatUnits(v.supplyCap, v.decimals)} ${v.symbol}, outflow ${formatUnits(v.outflowCapacity ?? 0n, v.decimals)} ${v.symbol} per day (caps of the file)`,
    );
  }
  if (e === undefined) return out;
  line('deploy MarginEngine', `endpoint ${plan.chain.layerZero.endpointV2}, owner the deployer`);
  line('engine.setGuardian', 'the deployer');
  line('deploy PerpMarket', `quote token ${e.quoteSymbol} ${e.quoteToken}`);
  for (const m of e.markets) {
    line(
      `market.addMarket(${m.marketId} ${m.symbol})`,
      `oracle ${oracleText(m.oracle)}, trading fee ${pct(m.tradingFee)}, borrow rate ${pct(m.borrowRatePerSecond)}/s`,
    );
  }
  line('engine.setVenue', 'the PerpMarket');
  line('engine.setLocalVault', 'the CollateralVault');
  line('vault.setLocalEngine', 'the MarginEngine');
  for (const r of e.riskAssets) {
    line(
      `engine.setRiskAsset(${r.assetId} ${r.symbol})`,
      `weight ${pct(r.weight)}, oracle ${oracleText(r.oracle)}${r.depthThousandUsd === undefined ? '' : `, depth $${r.depthThousandUsd * 1_000} (size-aware weight)`}`,
    );
  }
  for (const s of e.sources) {
    line(
      `engine.setCollateralSource(${s.srcEid} ${s.chain}, ${s.symbol} ${s.token})`,
      `asset ${s.assetId}, ${
        s.creditCap === undefined
          ? `credit cap ${DEFAULT_CAPS.sourceCreditCap} ${s.symbol}, bridged ${DEFAULT_CAPS.sourceBridgeCapacity} ${s.symbol} per ${window(DEFAULT_CAPS.sourceBridgeWindow)} (low default caps)`
          : `credit cap ${formatUnits(s.creditCap, s.decimals)} ${s.symbol}, bridged ${formatUnits(s.bridgeCapacity ?? 0n, s.decimals)} ${s.symbol} per day (caps of the file)`
      }${s.staleDecaySec === undefined ? '' : `, stale after ${s.staleGraceSec} s then weight to 0 over ${s.staleDecaySec} s`}`,
    );
  }
  for (const m of e.markets) {
    line(
      `engine.setMarketRisk(${m.marketId} ${m.symbol})`,
      `initial margin ${pct(m.initialMargin)}, maintenance ${pct(m.maintenanceMargin)}, open-interest cap $${pct(m.openInterestCap)}`,
    );
  }
  const l = e.liquidation;
  line(
    'engine.setLiquidationConfig',
    `bonus ${pct(l.bonus)}, target health ${pct(l.targetHealth)}, full close below ${pct(l.fullCloseHealth)}, dust $${pct(l.dustNotional)}`,
  );
  line('deploy Rebalancer', 'engine the MarginEngine, owner the deployer');
  for (const x of e.rebalancerExecutors) line(`rebalancer.setExecutor(${x})`, 'a node signer (dvn.signers)');
  line('engine.setRebalancer', 'the Rebalancer');
  const g = e.weightGovernor;
  line('deploy WeightGovernor', 'engine the MarginEngine, owner the deployer');
  line('governor.setSigners', `the ${g.signers.length} dvn.signers, quorum ${g.quorum}`);
  for (const b of g.bounds) {
    const symbol = e.riskAssets.find((r) => r.assetId === b.assetId)?.symbol;
    line(
      `governor.setBounds(${b.assetId} ${symbol})`,
      `weight ${pct(b.minWeight)}..${pct(b.maxWeight)}, step ${pct(b.maxStep)}, at most every ${b.minInterval} s`,
    );
  }
  line('engine.setWeightGovernor', 'the WeightGovernor');
  return out;
}

/** A DVN's verifier id: LayerZero derives it from the eid the same way (eid % 30000). */
export function dvnVid(eid: number): number {
  return eid % 30_000;
}

export interface NetworkDeployment {
  xmargin: XmarginContracts;
  /** xmargin's DVN, when the plan deployed one: the chain's `layerZero.dvn` from now on. */
  dvn?: Address;
  /** The ChainlinkPriceAdapters deployed, in `plan.adapters` order. */
  adapters: Address[];
}

/** Sends the plan from `tx`'s key; resolves once every transaction is mined. */
export async function executePlan(plan: NetworkDeployPlan, tx: TxSender): Promise<NetworkDeployment> {
  const dvn = plan.dvn === undefined ? undefined : await deployDvn(plan.chain, plan.dvn, tx);
  const adapterArt = readArtifact('ChainlinkPriceAdapter');
  const adapters: Address[] = [];
  for (const a of plan.adapters) {
    adapters.push(
      await tx.deploy(`ChainlinkPriceAdapter(${a.feed})@${plan.chain.name}`, adapterArt, [
        a.feed,
        a.maxAge,
        ZERO,
        0,
        0,
      ]),
    );
  }
  const resolve = (o: OracleRef): Address =>
    'adapter' in o ? o.adapter : (adapters[o.newAdapter] as Address);
  const e = plan.engine;
  const engine: EngineSpec | undefined =
    e === undefined
      ? undefined
      : {
          quoteToken: e.quoteToken,
          riskAssets: e.riskAssets.map((r) => ({
            assetId: r.assetId,
            oracle: resolve(r.oracle),
            weight: r.weight,
            ...(r.depthThousandUsd === undefined ? {} : { depthThousandUsd: r.depthThousandUsd }),
          })),
          sources: e.sources.map(({ chain: _, symbol: __, ...source }) => source),
          markets: e.markets.map(({ symbol: _, oracle, ...m }) => ({ ...m, oracle: resolve(oracle) })),
          liquidation: e.liquidation,
          rebalancerExecutors: e.rebalancerExecutors,
          weightGovernor: e.weightGovernor,
        };
  const xmargin = await deployXmargin(plan.chain, tx, {
    vaultAssets: plan.vaultAssets.map(({ symbol: _, ...asset }) => asset),
    ...(engine !== undefined ? { engine } : {}),
  });
  return { xmargin, adapters, ...(dvn === undefined ? {} : { dvn }) };
}

async function deployDvn(chain: NetworkChain, spec: DvnToDeploy, tx: TxSender): Promise<Address> {
  const lz = chain.layerZero;
  const artifact = readLzArtifact('DVN');
  const deployer = await tx.address();
  const admins = [...new Set([deployer, ...spec.signers])];
  const dvn = await tx.deploy(`DVN@${chain.name}`, artifact, [
    chain.eid,
    dvnVid(chain.eid),
    [lz.sendUln302, lz.receiveUln302],
    lz.priceFeed,
    spec.signers,
    spec.quorum,
    admins,
  ]);
  await tx.call('DVN.setWorkerFeeLib', dvn, new Interface(artifact.abi), 'setWorkerFeeLib', [lz.dvnFeeLib]);
  return dvn;
}
