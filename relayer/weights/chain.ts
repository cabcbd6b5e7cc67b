// What the weight proposer reads from and sends to one engine chain: the WeightGovernor's bounds,
// nonce, last update and quorum and the engine's current weight of an asset (eth_call), and the
// `updateWeight` call. Human-readable ABI, so the node does not depend on forge's out/ directory.

import { Interface, toBeHex, zeroPadValue } from 'ethers';
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

/** The update a WeightUpdated event recorded: its transaction, its sender and the deadline it carried. */
export interface LandedUpdate {
  txHash: Hex;
  submitter: Address;
  deadline: bigint;
  /** The weight it set and the one before it (WAD). */
  weight: bigint;
  previousWeight: bigint;
  /** The quorum's signatures the call carried. */
  signatures: Hex[];
}

/** How far back (blocks) the landing of a round that just ended is looked for. */
const LANDED_LOOKBACK_BLOCKS = 10_000;

/**
 * The `updateWeight` that moved `assetId`'s nonce past `nonce`, read from its WeightUpdated event and
 * its calldata; undefined when not found in the lookback. Rounds signed in different deadline windows
 * can carry the same weight at the same nonce: only the deadline tells which one landed.
 */
export async function findLandedUpdate(
  rpc: Pick<LiqRpc, 'blockNumber' | 'getLogs' | 'send'>,
  governor: Address,
  assetId: number,
  nonce: bigint,
): Promise<LandedUpdate | undefined> {
  const head = await rpc.blockNumber();
  const logs = await rpc.getLogs({
    address: governor,
    topics: [GOVERNOR.getEvent('WeightUpdated')?.topicHash as Hex, zeroPadValue(toBeHex(assetId), 32) as Hex],
    fromBlock: Math.max(0, head - LANDED_LOOKBACK_BLOCKS),
  });
  for (const log of logs) {
    const event = GOVERNOR.parseLog({ topics: [...log.topics], data: log.data });
    if (event === null || BigInt(event.args.nonce) !== nonce) continue;
    const tx = await rpc.send<{ input: Hex; from: Address } | null>('eth_getTransactionByHash', [
      log.transactionHash,
    ]);
    if (tx === null) return undefined;
    const call = GOVERNOR.parseTransaction({ data: tx.input });
    if (call?.name !== 'updateWeight') return undefined;
    return {
      txHash: log.transactionHash,
      submitter: tx.from,
      deadline: BigInt(call.args.deadline),
      weight: BigInt(event.args.weight),
      previousWeight: BigInt(event.args.previousWeight),
      signatures: [...(call.args.signatures as string[])] as Hex[],
    };
  }
  return undefined;
}
