// What a liquidation transaction's receipt says about ONE sub-account. A receipt may carry several
// liquidations (liquidateBatch), and an item of a batch may have been skipped while the transaction
// succeeded, so "status 1" alone never means "ours landed": the engine's Liquidated event for the
// sub-account, naming us as the liquidator, does. A skipped item leaves LiquidationSkipped with its
// revert data instead.

import type { TransactionReceipt } from 'ethers';
import { zeroPadValue } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE, TOPICS_LIQ } from './abi.ts';
import { describeRevert } from './rpc.ts';

export interface SubAccountRef {
  account: Address;
  subaccount: bigint;
}

type Log = TransactionReceipt['logs'][number];

/** Whether two indexed topics are (account, subaccount). */
export function isSubAccount(topics: readonly string[], sub: SubAccountRef): boolean {
  return (
    topics[0]?.toLowerCase() === zeroPadValue(sub.account, 32).toLowerCase() &&
    topics[1] !== undefined &&
    BigInt(topics[1]) === sub.subaccount
  );
}

/** A predicate for the engine's `topic0` logs naming `liquidator` as their third indexed topic. */
function byUs(engine: Address, topic0: string, liquidator: Address): (l: Log) => boolean {
  const at = engine.toLowerCase();
  const by = zeroPadValue(liquidator, 32).toLowerCase();
  return (l) => l.address.toLowerCase() === at && l.topics[0] === topic0 && l.topics[3]?.toLowerCase() === by;
}

/** The engine's `topic0` log for the sub-account, by `liquidator`. */
function find(
  receipt: TransactionReceipt,
  engine: Address,
  topic0: string,
  sub: SubAccountRef,
  liquidator: Address,
): Log | undefined {
  const ours = byUs(engine, topic0, liquidator);
  return receipt.logs.find((l) => ours(l) && isSubAccount(l.topics.slice(1), sub));
}

/** How many liquidations by `liquidator` the receipt carries (a batch's landed items). */
export function liquidationCount(receipt: TransactionReceipt, engine: Address, liquidator: Address): number {
  return receipt.logs.filter(byUs(engine, TOPICS_LIQ.Liquidated, liquidator)).length;
}

/** Our Liquidated event for the sub-account in the receipt, decoded; undefined when it did not land. */
export function liquidationOf(
  receipt: TransactionReceipt,
  engine: Address,
  sub: SubAccountRef,
  liquidator: Address,
): { healthAfter: bigint } | undefined {
  if (receipt.status !== 1) return undefined;
  const log = find(receipt, engine, TOPICS_LIQ.Liquidated, sub, liquidator);
  if (log === undefined) return undefined;
  const ev = ENGINE.parseLog({ topics: [...log.topics], data: log.data });
  return ev === null ? undefined : { healthAfter: ev.args.healthAfter as bigint };
}

/** The revert data of the sub-account's item skipped in our batch, if the receipt has it. */
export function skipReasonOf(
  receipt: TransactionReceipt,
  engine: Address,
  sub: SubAccountRef,
  liquidator: Address,
): Hex | undefined {
  if (receipt.status !== 1) return undefined;
  const log = find(receipt, engine, TOPICS_LIQ.LiquidationSkipped, sub, liquidator);
  if (log === undefined) return undefined;
  const ev = ENGINE.parseLog({ topics: [...log.topics], data: log.data });
  return ev === null ? undefined : (ev.args.reason as Hex);
}

/**
 * Why an item was skipped, from its LiquidationSkipped reason: the engine's error by name, or out of
 * gas (a call that ran out of gas inside the batch reverts with no data).
 */
export function describeSkip(reason: Hex | undefined): {
  name: string | undefined;
  text: string;
  outOfGas: boolean;
} {
  if (reason === undefined || reason === '0x')
    return { name: undefined, text: 'out of gas (no revert data)', outOfGas: true };
  return { ...describeRevert({ data: reason }), outOfGas: false };
}
