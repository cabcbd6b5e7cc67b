// Deploys xmargin's contracts on one chain and sets their per-chain parameters: the CollateralVault
// everywhere; on chains that host positions the MarginEngine, its PerpMarket venue, risk assets,
// collateral sources, market risk and liquidation rules. Cross-chain links (peers, enforced options,
// LayerZero libraries and DVN configs) are `wire`'s job (./wire.ts), which reads state first.
//
// Caps: a network added for real starts with LOW caps unless the caller says otherwise (design brief,
// "new networks start with low caps"). The defaults, in whole tokens of the asset:
//   vault asset:        supplyCap 100,000; outflow 10,000 per 1 day
//   collateral source:  creditCap  10,000; bridged credit 1,000 per 1 day
// The devnet passes type(uint128).max instead.

import { Interface } from 'ethers';
import { readArtifact } from '../chain/artifacts.ts';
import type { TxSender } from '../chain/tx.ts';
import type { Address, XmarginContracts } from '../config/types.ts';
import { DEFAULT_HAIRCUT } from '../risk/haircut.ts';

export const NATIVE: Address = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE';
/** A day in seconds: the window of the caps' daily budgets. */
export const DAY = 86_400n;
export const DEFAULT_CAPS = {
  vaultSupplyCap: 100_000n,
  vaultOutflowCapacity: 10_000n,
  vaultOutflowWindow: DAY,
  sourceCreditCap: 10_000n,
  sourceBridgeCapacity: 1_000n,
  sourceBridgeWindow: DAY,
} as const;

const WAD = 10n ** 18n;

export interface VaultAssetSpec {
  token: Address;
  decimals: number;
  /** Token units; default DEFAULT_CAPS (low). */
  supplyCap?: bigint;
  outflowCapacity?: bigint;
  outflowWindow?: bigint;
}

export interface RiskAssetSpec {
  assetId: number;
  oracle: Address;
  /** Collateral weight = 1 - haircut, WAD. */
  weight: bigint;
  /** Size-aware weight: market depth in thousands of USD (RiskAsset.depth); 0 or absent: none. */
  depthThousandUsd?: number;
}

export interface CollateralSourceSpec {
  srcEid: number;
  token: Address;
  assetId: number;
  decimals: number;
  /** Token units; default DEFAULT_CAPS (low). */
  creditCap?: bigint;
  bridgeCapacity?: bigint;
  bridgeWindow?: bigint;
  /** Staleness-aware weight (remote sources): grace and linear decay in seconds; decay 0 or absent: off. */
  staleGraceSec?: number;
  staleDecaySec?: number;
}

/** `CollateralVault.setAssetConfig` arguments for `asset`, caps defaulting to the low DEFAULT_CAPS. */
export function vaultAssetArgs(asset: VaultAssetSpec): [Address, [boolean, bigint, bigint, bigint]] {
  return [
    asset.token,
    [
      true,
      asset.supplyCap ?? whole(DEFAULT_CAPS.vaultSupplyCap, asset.decimals),
      asset.outflowCapacity ?? whole(DEFAULT_CAPS.vaultOutflowCapacity, asset.decimals),
      asset.outflowWindow ?? DEFAULT_CAPS.vaultOutflowWindow,
    ],
  ];
}

/** `MarginEngine.setCollateralSource` arguments for `s`, caps defaulting to the low DEFAULT_CAPS. */
export function collateralSourceArgs(s: CollateralSourceSpec): unknown[] {
  return [
    s.srcEid,
    s.token,
    [
      s.assetId,
      s.decimals,
      true,
      s.staleGraceSec ?? 0,
      s.staleDecaySec ?? 0,
      s.creditCap ?? whole(DEFAULT_CAPS.sourceCreditCap, s.decimals),
      s.bridgeCapacity ?? whole(DEFAULT_CAPS.sourceBridgeCapacity, s.decimals),
      s.bridgeWindow ?? DEFAULT_CAPS.sourceBridgeWindow,
    ],
  ];
}

export interface MarketSpec {
  marketId: number;
  oracle: Address;
  /** WAD fractions. */
  tradingFee: bigint;
  borrowRatePerSecond: bigint;
  initialMargin: bigint;
  maintenanceMargin: bigint;
  /** USD, WAD. */
  openInterestCap: bigint;
}

export interface LiquidationSpec {
  bonus: bigint;
  targetHealth: bigint;
  fullCloseHealth: bigint;
  dustNotional: bigint;
}

/** BaseTest's liquidation rules: 5% bonus, back to 1.25, full close below 0.5, dust $50. */
export const DEFAULT_LIQUIDATION: LiquidationSpec = {
  bonus: (5n * WAD) / 100n,
  targetHealth: (125n * WAD) / 100n,
  fullCloseHealth: WAD / 2n,
  dustNotional: 50n * WAD,
};

export interface EngineSpec {
  /** Settlement token of the PerpMarket (valued at $1). */
  quoteToken: Address;
  riskAssets: RiskAssetSpec[];
  sources: CollateralSourceSpec[];
  markets: MarketSpec[];
  liquidation?: LiquidationSpec;
  /**
   * Deploys the engine's Rebalancer (contracts/risk/Rebalancer.sol) with these executors (the relayer
   * nodes' signer addresses) and connects it to the engine. Absent: no Rebalancer.
   */
  rebalancerExecutors?: Address[];
  /** Deploys the engine's WeightGovernor (contracts/risk/WeightGovernor.sol). Absent: none. */
  weightGovernor?: WeightGovernorSpec;
}

/** Bounds of one risk asset's weight under the WeightGovernor (WAD; minInterval in seconds). */
export interface WeightBoundsSpec {
  assetId: number;
  minWeight: bigint;
  maxWeight: bigint;
  maxStep: bigint;
  minInterval: bigint;
}

/**
 * The WeightGovernor's default bounds for one asset: those the off-chain haircut module proposes
 * within (relayer/risk/haircut.ts DEFAULT_HAIRCUT: weight in [min, max], at most maxStep per update),
 * at most one update per `minInterval` seconds.
 */
export function defaultWeightBounds(assetId: number, minInterval: bigint): WeightBoundsSpec {
  return {
    assetId,
    minWeight: toWad(DEFAULT_HAIRCUT.min),
    maxWeight: toWad(DEFAULT_HAIRCUT.max),
    maxStep: toWad(DEFAULT_HAIRCUT.maxStep),
    minInterval,
  };
}

/** A fraction given as a float with at most 6 decimals, in WAD. */
const toWad = (x: number): bigint => (BigInt(Math.round(x * 1e6)) * WAD) / 1_000_000n;

export interface WeightGovernorSpec {
  /** The attestor signers whose quorum may apply a weight update. */
  signers: Address[];
  quorum: number;
  bounds: WeightBoundsSpec[];
}

export interface DeployXmarginOptions {
  /** Guardian of vault and engine (default: the deployer). */
  guardian?: Address;
  vaultAssets: VaultAssetSpec[];
  /** Present on chains that host positions. */
  engine?: EngineSpec;
}

export interface ChainTarget {
  name: string;
  eid: number;
  layerZero: { endpointV2: Address };
}

const whole = (n: bigint, decimals: number): bigint => n * 10n ** BigInt(decimals);

/** Deploys and configures xmargin on `chain`; returns the addresses once every transaction is mined. */
export async function deployXmargin(
  chain: ChainTarget,
  tx: TxSender,
  opts: DeployXmarginOptions,
): Promise<XmarginContracts> {
  const deployer = await tx.address();
  const guardian = opts.guardian ?? deployer;
  const vaultArt = readArtifact('CollateralVault');
  const vaultI = new Interface(vaultArt.abi);
  const vault = await tx.deploy(`CollateralVault@${chain.name}`, vaultArt, [
    chain.layerZero.endpointV2,
    deployer,
  ]);
  await tx.call('vault.setGuardian', vault, vaultI, 'setGuardian', [guardian]);
  for (const asset of opts.vaultAssets) {
    await tx.call(
      `vault.setAssetConfig(${asset.token})`,
      vault,
      vaultI,
      'setAssetConfig',
      vaultAssetArgs(asset),
    );
  }
  const out: XmarginContracts = { vault };
  const spec = opts.engine;
  if (spec !== undefined) {
    const engineArt = readArtifact('MarginEngine');
    const marketArt = readArtifact('PerpMarket');
    const engineI = new Interface(engineArt.abi);
    const marketI = new Interface(marketArt.abi);
    const engine = await tx.deploy(`MarginEngine@${chain.name}`, engineArt, [
      chain.layerZero.endpointV2,
      deployer,
    ]);
    await tx.call('engine.setGuardian', engine, engineI, 'setGuardian', [guardian]);
    const market = await tx.deploy(`PerpMarket@${chain.name}`, marketArt, [
      engine,
      spec.quoteToken,
      deployer,
    ]);
    for (const m of spec.markets) {
      await tx.call(`market.addMarket(${m.marketId})`, market, marketI, 'addMarket', [
        m.marketId,
        m.oracle,
        m.tradingFee,
        m.borrowRatePerSecond,
      ]);
    }
    await tx.call('engine.setVenue', engine, engineI, 'setVenue', [market]);
    await tx.call('engine.setLocalVault', engine, engineI, 'setLocalVault', [vault]);
    await tx.call('vault.setLocalEngine', vault, vaultI, 'setLocalEngine', [engine]);
    for (const r of spec.riskAssets) {
      await tx.call(`engine.setRiskAsset(${r.assetId})`, engine, engineI, 'setRiskAsset', [
        r.assetId,
        [r.oracle, r.weight, true, r.depthThousandUsd ?? 0],
      ]);
    }
    for (const s of spec.sources) {
      await tx.call(
        `engine.setCollateralSource(${s.srcEid},${s.token})`,
        engine,
        engineI,
        'setCollateralSource',
        collateralSourceArgs(s),
      );
    }
    for (const m of spec.markets) {
      await tx.call(`engine.setMarketRisk(${m.marketId})`, engine, engineI, 'setMarketRisk', [
        m.marketId,
        [m.initialMargin, m.maintenanceMargin, m.openInterestCap, true],
      ]);
    }
    const l = spec.liquidation ?? DEFAULT_LIQUIDATION;
    await tx.call('engine.setLiquidationConfig', engine, engineI, 'setLiquidationConfig', [
      [l.bonus, l.targetHealth, l.fullCloseHealth, l.dustNotional],
    ]);
    out.engine = engine;
    out.market = market;
    if (spec.rebalancerExecutors !== undefined) {
      out.rebalancer = await deployRebalancer(chain, tx, engine, engineI, spec.rebalancerExecutors);
    }
    if (spec.weightGovernor !== undefined) {
      out.weightGovernor = await deployWeightGovernor(chain, tx, engine, engineI, spec.weightGovernor);
    }
  }
  await tx.flush();
  return out;
}

/** The engine's Rebalancer, owned by the deployer, with `executors` allowed, set as the engine's rebalancer. */
async function deployRebalancer(
  chain: ChainTarget,
  tx: TxSender,
  engine: Address,
  engineI: Interface,
  executors: Address[],
): Promise<Address> {
  const art = readArtifact('Rebalancer');
  const rebalancerI = new Interface(art.abi);
  const rebalancer = await tx.deploy(`Rebalancer@${chain.name}`, art, [engine, await tx.address()]);
  for (const executor of executors) {
    await tx.call(`rebalancer.setExecutor(${executor})`, rebalancer, rebalancerI, 'setExecutor', [
      executor,
      true,
    ]);
  }
  await tx.call('engine.setRebalancer', engine, engineI, 'setRebalancer', [rebalancer]);
  return rebalancer;
}

/** The engine's WeightGovernor, owned by the deployer, with its signers and bounds, set on the engine. */
async function deployWeightGovernor(
  chain: ChainTarget,
  tx: TxSender,
  engine: Address,
  engineI: Interface,
  spec: WeightGovernorSpec,
): Promise<Address> {
  const art = readArtifact('WeightGovernor');
  const governorI = new Interface(art.abi);
  const governor = await tx.deploy(`WeightGovernor@${chain.name}`, art, [engine, await tx.address()]);
  await tx.call('governor.setSigners', governor, governorI, 'setSigners', [spec.signers, spec.quorum]);
  for (const b of spec.bounds) {
    await tx.call(`governor.setBounds(${b.assetId})`, governor, governorI, 'setBounds', [
      b.assetId,
      [b.minWeight, b.maxWeight, b.maxStep, b.minInterval],
    ]);
  }
  await tx.call('engine.setWeightGovernor', engine, engineI, 'setWeightGovernor', [governor]);
  return governor;
}
