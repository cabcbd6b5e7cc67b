// What the weight proposer reads from and sends to one engine chain: the WeightGovernor's bounds,
// nonce, last update and quorum and the engine's current weight of an asset (eth_call), and the
// `updateWeight` call. Human-readable ABI, so the node does not depend on forge's out/ directory.

import { Interface } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from '../liquidation/abi.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import type { GovernorBounds } from './propose.ts';

export const GOVERNOR = new Interface([
  'function bounds(uint16 assetId) view returns ((uint64 minWeight, uint64 maxWeight, uint64 maxStep, uint64 minInterval))',
  'function nonces(uint16 assetId) view returns (uint256)',
  'function lastUpdate(uint16 assetId) view returns (uint64)',
  'function updateWeight(uint16 assetId, uint64 weight, uint256 deadline, bytes[] signatures)',
  'event WeightUpdated(uint16 indexed assetId, uint64 previousWeight, uint64 weight, uint256 nonce, address indexed submitter)',
  'error AssetNotGoverned(uint16 assetId)',
  'error WeightOutOfBounds(uint64 weight, uint64 minWeight, uint64 maxWeight)',
  'error StepTooLarge(uint64 previousWeight, uint64 weight, uint64 maxStep)',
  'error UpdateTooSoon(uint256 notBefore)',
  'error DeadlinePassed(uint256 deadline)',
  'error QuorumNotMet(uint256 signatures, uint256 quorum)',
  'error UnknownSigner(address signer)',
  'error SignersNotAscending(address signer, address previous)',
]);

/** One governed asset's on-chain state. */
export interface AssetState {
  weight: bigint;
  bounds: GovernorBounds;
  nonce: bigint;
  lastUpdate: bigint;
}

export async function readAssetState(
  rpc: Pick<LiqRpc, 'call'>,
  engine: Address,
  governor: Address,
  assetId: number,
): Promise<AssetState> {
  const call = async (to: Address, iface: Interface, fn: string, args: unknown[]) =>
    iface.decodeFunctionResult(fn, await rpc.call({ to, data: iface.encodeFunctionData(fn, args) as Hex }));
  const [[asset], [b], [nonce], [lastUpdate]] = await Promise.all([
    call(engine, ENGINE, 'riskAsset', [assetId]),
    call(governor, GOVERNOR, 'bounds', [assetId]),
    call(governor, GOVERNOR, 'nonces', [assetId]),
    call(governor, GOVERNOR, 'lastUpdate', [assetId]),
  ]);
  return {
    weight: BigInt(asset.weight),
    bounds: {
      minWeight: BigInt(b.minWeight),
      maxWeight: BigInt(b.maxWeight),
      maxStep: BigInt(b.maxStep),
      minInterval: BigInt(b.minInterval),
    },
    nonce: BigInt(nonce),
    lastUpdate: BigInt(lastUpdate),
  };
}

export function updateWeightCallData(
  assetId: number,
  weight: bigint,
  deadline: bigint,
  signatures: Hex[],
): Hex {
  return GOVERNOR.encodeFunctionData('updateWeight', [assetId, weight, deadline, signatures]) as Hex;
}
