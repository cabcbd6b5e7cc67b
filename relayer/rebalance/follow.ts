// Follows a landed rebalance to its end: the MOVE reaches the collateral's vault (CreditMoved, in the
// same receipt when the collateral is on the source engine's own chain), the vault's onward LOCK is
// credited on the destination engine (Credited) or held there (CreditHeld). The vault does not emit
// the onward LOCK's id, so the credit is matched by (account, subaccount, srcEid, token, amount) from
// the destination's head at landing time on.

import { toBeHex, zeroPadValue } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { LiqRpc } from '../liquidation/rpc.ts';
import { MOVE_ABI, TOPICS_RB } from './abi.ts';

type Rpc = Pick<LiqRpc, 'blockNumber' | 'getLogs'>;

export interface MoveToFollow {
  moveId: Hex;
  account: Address;
  subaccount: bigint;
  srcEid: number;
  token: Address;
  amount: bigint;
  dstEngineEid: number;
}

export interface FollowMoveOptions {
  vaultOf: (eid: number) => { vault: Address; rpc: Rpc } | undefined;
  engineOf: (eid: number) => { engine: Address; rpc: Rpc } | undefined;
  /** The destination's head when the move landed (lower bound of where its credit can be). */
  dstFromBlock: number;
  /** Where the vault's CreditMoved can be at the earliest; default a few blocks below its head now. */
  vaultFromBlock?: number;
  timeoutMs?: number;
  pollMs?: number;
  stopped?: () => boolean;
  now?: () => number;
}

export type MoveOutcome =
  | { status: 'credited' | 'held'; tx: Hex; at: number }
  | { status: 'timeout' | 'unknown' | 'stopped'; at: number };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function followMove(m: MoveToFollow, o: FollowMoveOptions): Promise<MoveOutcome> {
  const now = o.now ?? Date.now;
  const started = now();
  const timeoutMs = o.timeoutMs ?? 300_000;
  const pollMs = o.pollMs ?? 500;
  const vault = o.vaultOf(m.srcEid);
  const dst = o.engineOf(m.dstEngineEid);
  if (vault === undefined || dst === undefined) return { status: 'unknown', at: now() };
  const vaultFrom = o.vaultFromBlock ?? Math.max(0, (await vault.rpc.blockNumber()) - 64);
  const account = zeroPadValue(m.account, 32) as Hex;
  const sub = toBeHex(m.subaccount, 32) as Hex;

  let moved = false;
  for (;;) {
    if (o.stopped?.()) return { status: 'stopped', at: now() };
    if (now() - started > timeoutMs) return { status: 'timeout', at: now() };
    if (!moved) {
      const logs = await vault.rpc.getLogs({
        address: vault.vault,
        topics: [TOPICS_RB.CreditMoved, m.moveId],
        fromBlock: vaultFrom,
      });
      moved = logs.length > 0;
    }
    if (moved) {
      const logs = await dst.rpc.getLogs({
        address: dst.engine,
        topics: [[TOPICS_RB.Credited, TOPICS_RB.CreditHeld], null, account, sub],
        fromBlock: o.dstFromBlock,
      });
      for (const l of logs) {
        const ev = MOVE_ABI.parseLog({ topics: [...l.topics], data: l.data });
        if (ev?.name === 'CreditHeld') return { status: 'held', tx: l.transactionHash, at: now() };
        if (
          ev?.name === 'Credited' &&
          Number(ev.args.srcEid) === m.srcEid &&
          String(ev.args.token).toLowerCase() === m.token.toLowerCase() &&
          (ev.args.amount as bigint) === m.amount
        ) {
          return { status: 'credited', tx: l.transactionHash, at: now() };
        }
      }
    }
    await sleep(pollMs);
  }
}
