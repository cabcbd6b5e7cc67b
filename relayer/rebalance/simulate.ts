// Turns a rescue plan into the Rebalancer call and simulates it from our own address (eth_call). The
// fee: collateral held on the source engine's own chain moves through its local vault in the same
// transaction, so msg.value pays that vault's LOCK to the destination (its quoteDeposit); collateral
// of another chain travels as a MOVE message first (quoteMove), whose options carry the native the
// vault there needs for the onward LOCK (twice that vault's quote, as the client's `move` does; the
// rest is refunded). A revert is named with the Rebalancer's and the engine's custom errors.

import { Interface } from 'ethers';
import { lzReceiveOptions } from '../client/index.ts';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE } from '../liquidation/abi.ts';
import { describeRevert, type LiqRpc } from '../liquidation/rpc.ts';
import { MOVE_ABI, REBALANCER } from './abi.ts';
import type { RescuePlan } from './types.ts';

export interface SourceChain {
  eid: number;
  engine: Address;
  rebalancer: Address;
  rpc: Pick<LiqRpc, 'call'>;
}

/** A collateral chain's vault, to quote the LOCK it sends on to the destination. */
export type VaultOf = (eid: number) => { vault: Address; rpc: Pick<LiqRpc, 'call'> } | undefined;

const VAULT_QUOTE = new Interface([
  'function quoteDeposit(address token, uint256 amount, uint96 subaccount, uint32 engineEid, bytes options) view returns ((uint256 nativeFee, uint256 lzTokenFee))',
]);
/** Gas of the vault's lzReceive for a MOVE (it sends the LOCK onward). */
const MOVE_RECEIVE_GAS = 600_000n;

/** The LOCK fee from the collateral's vault to the destination engine. */
async function lockFee(vaultOf: VaultOf, plan: RescuePlan): Promise<bigint> {
  const v = vaultOf(plan.srcEid);
  if (v === undefined) throw new Error(`no RPC for the vault chain ${plan.srcEid}`);
  const out = await v.rpc.call({
    to: v.vault,
    data: VAULT_QUOTE.encodeFunctionData('quoteDeposit', [
      plan.token,
      plan.amount,
      plan.subaccount,
      plan.dstEngineEid,
      '0x',
    ]) as Hex,
  });
  return VAULT_QUOTE.decodeFunctionResult('quoteDeposit', out)[0].nativeFee as bigint;
}

/** msg.value and LayerZero options of the rebalance call for `plan`. */
export async function quoteRescue(
  chain: SourceChain,
  vaultOf: VaultOf,
  plan: RescuePlan,
): Promise<{ value: bigint; options: Hex }> {
  const lock = await lockFee(vaultOf, plan);
  // Local collateral: the engine hands msg.value to its vault for the LOCK (10 % head-room for gas).
  if (plan.srcEid === chain.eid) return { value: (lock * 11n) / 10n, options: '0x' };
  const options = lzReceiveOptions(MOVE_RECEIVE_GAS, lock * 2n);
  const quoted = await chain.rpc.call({
    to: chain.engine,
    data: MOVE_ABI.encodeFunctionData('quoteMove', [plan.srcEid, options]) as Hex,
  });
  return { value: MOVE_ABI.decodeFunctionResult('quoteMove', quoted)[0].nativeFee as bigint, options };
}

export type Simulation =
  | { ok: true; calldata: Hex; value: bigint; moveId: Hex }
  | { ok: false; calldata: Hex; value: bigint; error: string; errorName: string | undefined };

/** The Rebalancer's call for `plan`. */
export function rebalanceCalldata(plan: RescuePlan, options: Hex): Hex {
  return REBALANCER.encodeFunctionData('rebalance', [
    plan.account,
    plan.subaccount,
    plan.srcEid,
    plan.token,
    plan.amount,
    plan.dstEngineEid,
    options,
  ]) as Hex;
}

/** `Name(args)` of a revert: the Rebalancer's errors first, then the engine's. */
export const describeRebalanceRevert = (err: unknown) => describeRevert(err, [REBALANCER, ENGINE]);

export async function simulateRebalance(
  chain: SourceChain,
  vaultOf: VaultOf,
  plan: RescuePlan,
  self: Address,
): Promise<Simulation> {
  const { value, options } = await quoteRescue(chain, vaultOf, plan);
  const calldata = rebalanceCalldata(plan, options);
  try {
    const out = await chain.rpc.call({ to: chain.rebalancer, data: calldata, from: self, value });
    const [moveId] = REBALANCER.decodeFunctionResult('rebalance', out);
    return { ok: true, calldata, value, moveId: moveId as Hex };
  } catch (err) {
    const why = describeRebalanceRevert(err);
    return { ok: false, calldata, value, error: why.text, errorName: why.name };
  }
}
