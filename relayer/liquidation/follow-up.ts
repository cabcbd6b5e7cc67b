// After a liquidation landed: which collateral it seized, and whether each seizure was paid out to
// us on its own chain. Local seizures pay out inside the liquidation transaction (the vault's PaidOut
// is in the same receipt); remote ones travel as SEIZE messages and are paid when the vault receives
// them (PaidOut), or held by the vault's governor (PayoutQueued) until the queue pays them
// (QueuedPayoutExecuted, after the window or cleared by the guardian). A payout counts only when it
// is under the seizure's id, to our address, for the amount seized; anything else under that id is a
// mismatch. The latency from our receipt to the payout is what an operator wants to see.

import type { TransactionReceipt } from 'ethers';
import type { ChainLog } from '../chain/rpc.ts';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE, KIND_SEIZE, TOPICS_LIQ, VAULT } from './abi.ts';
import { isSubAccount, type SubAccountRef } from './receipt.ts';
import type { LiqRpc } from './rpc.ts';
import type { BadDebt, SeizeFollowUp } from './types.ts';

/** A vault log as the receipt or eth_getLogs gives it. */
type VaultLog = Pick<ChainLog, 'topics' | 'data'> & { transactionHash: string; blockNumber: number };

/**
 * What a PaidOut or PayoutQueued log of the vault (already matched by id) says about seizure `s`:
 * paid or queued when it is to `recipient` for the seized amount, mismatch otherwise.
 */
export function payoutOutcome(
  s: Pick<SeizeFollowUp, 'id' | 'amount'>,
  log: VaultLog,
  recipient: Address,
): Pick<SeizeFollowUp, 'status' | 'error'> {
  const ev = VAULT.parseLog({ topics: [...log.topics], data: log.data });
  const queued = log.topics[0] === TOPICS_LIQ.PayoutQueued;
  const what = queued ? 'PayoutQueued' : 'PaidOut';
  if (ev === null) return { status: 'mismatch', error: `${what} ${s.id} could not be decoded` };
  const to = String(ev.args.recipient).toLowerCase();
  const amount = ev.args.amount as bigint;
  const problems = [
    ...(to === recipient.toLowerCase() ? [] : [`to ${ev.args.recipient}, not us (${recipient})`]),
    ...(amount === s.amount ? [] : [`${amount}, not the ${s.amount} seized`]),
    ...(queued || Number(ev.args.kind) === KIND_SEIZE ? [] : [`as kind ${ev.args.kind}, not SEIZE`]),
  ];
  if (problems.length > 0)
    return { status: 'mismatch', error: `${what} ${s.id} paid ${problems.join(', ')}` };
  return { status: queued ? 'queued' : 'paid' };
}

/**
 * The SEIZE debits of a liquidation receipt: paid (or queued, or mismatched) when the vault's PaidOut
 * or PayoutQueued under their id is in the same receipt (a local seizure), pending otherwise. With
 * `sub`, only that sub-account's (a batch's receipt carries several liquidations).
 */
export function seizuresOf(
  receipt: TransactionReceipt,
  engine: Address,
  recipient: Address,
  sub?: SubAccountRef,
): SeizeFollowUp[] {
  const out: SeizeFollowUp[] = [];
  const payouts = new Map<string, VaultLog>();
  for (const log of receipt.logs) {
    if (log.topics[0] === TOPICS_LIQ.PaidOut || log.topics[0] === TOPICS_LIQ.PayoutQueued)
      payouts.set((log.topics[1] ?? '').toLowerCase(), {
        topics: [...log.topics] as Hex[],
        data: log.data as Hex,
        transactionHash: receipt.hash,
        blockNumber: receipt.blockNumber,
      });
  }
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== engine.toLowerCase() || log.topics[0] !== TOPICS_LIQ.Debited) continue;
    // Debited(id, kind, account indexed, subaccount indexed, ...): topics 2 and 3.
    if (sub !== undefined && !isSubAccount(log.topics.slice(2), sub)) continue;
    const ev = ENGINE.parseLog({ topics: [...log.topics], data: log.data });
    if (ev === null || Number(ev.args.kind) !== KIND_SEIZE) continue;
    const s: SeizeFollowUp = {
      id: (ev.args.id as string).toLowerCase() as Hex,
      srcEid: Number(ev.args.srcEid),
      token: ev.args.token as Address,
      amount: ev.args.amount as bigint,
      status: 'pending',
    };
    const payout = payouts.get(s.id);
    if (payout !== undefined) settle(s, payout, recipient, 0);
    out.push(s);
  }
  return out;
}

/** Records what `log` (PaidOut / PayoutQueued under s.id) says about `s`, seen `latencyMs` after landing. */
function settle(s: SeizeFollowUp, log: VaultLog, recipient: Address, latencyMs: number): void {
  const { status, error } = payoutOutcome(s, log, recipient);
  s.status = status;
  s.latencyMs = latencyMs;
  if (error !== undefined) s.error = error;
  if (status === 'queued') {
    s.queuedTx = log.transactionHash as Hex;
    s.queuedBlock = log.blockNumber;
  } else {
    s.payoutTx = log.transactionHash as Hex;
    s.payoutBlock = log.blockNumber;
  }
}

/** The bad debt a liquidation receipt settled (the engine's BadDebtSettled), if any; with `sub`, that sub-account's. */
export function badDebtOf(
  receipt: TransactionReceipt,
  engine: Address,
  sub?: SubAccountRef,
): BadDebt | undefined {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== engine.toLowerCase() || log.topics[0] !== TOPICS_LIQ.BadDebtSettled)
      continue;
    if (sub !== undefined && !isSubAccount(log.topics.slice(1), sub)) continue;
    const ev = ENGINE.parseLog({ topics: [...log.topics], data: log.data });
    if (ev === null) continue;
    return {
      coveredByInsurance: ev.args.coveredByInsurance as bigint,
      writtenOff: ev.args.writtenOff as bigint,
    };
  }
  return undefined;
}

export interface FollowOptions {
  /** Vault address and RPC per source eid; a chain we have no RPC for stays 'unknown'. */
  vaultOf: (eid: number) => { vault: Address; rpc: LiqRpc } | undefined;
  /** Our address: the recipient every payout must name. */
  recipient: Address;
  /** ms when our receipt was seen: latencies count from it. */
  landedAt: number;
  /** How long pending seizures are looked for, from the start of this follow-up (default 10 min). */
  timeoutMs?: number;
  pollMs?: number;
  /** How often a queued payout is looked at (default 15 s: the governor's window is long). */
  queuedPollMs?: number;
  now?: () => number;
  /** Called after each change, so the journal shows progress before everything is paid. */
  onUpdate?: (seizures: SeizeFollowUp[]) => Promise<void>;
  stopped?: () => boolean;
}

/**
 * Follows every pending seizure to its payout and every queued one until the queue pays it. Pending
 * ones are looked for until `timeoutMs` after this call (at least once: a follow-up resumed after a
 * restart may find a payout made while the node was down) and then left pending; queued ones until
 * paid or stopped. Resolves with the list as it stands.
 */
export async function followSeizures(seizures: SeizeFollowUp[], o: FollowOptions): Promise<SeizeFollowUp[]> {
  const now = o.now ?? Date.now;
  const started = now();
  const timeoutMs = o.timeoutMs ?? 600_000;
  const pollMs = o.pollMs ?? 1_000;
  const queuedPollMs = Math.max(pollMs, o.queuedPollMs ?? 15_000);
  const list = seizures.map((s) => ({ ...s }));
  let changed = false;
  // Lower bound of where a payout can be: the vault chain's head when first followed (the SEIZE left
  // after our receipt), kept in the record so a resumed follow-up searches from the same block.
  const heads = new Map<number, number>();
  for (const s of list) {
    if (s.status !== 'pending') continue;
    const v = o.vaultOf(s.srcEid);
    if (v === undefined) {
      s.status = 'unknown';
      changed = true;
      continue;
    }
    if (s.fromBlock !== undefined) continue;
    let head = heads.get(s.srcEid);
    if (head === undefined) {
      head = Math.max(0, (await v.rpc.blockNumber()) - 2);
      heads.set(s.srcEid, head);
    }
    s.fromBlock = head;
    changed = true;
  }
  if (changed) await o.onUpdate?.(list);

  let queuedDue = 0;
  for (let first = true; !o.stopped?.(); first = false) {
    const lookPending = first || now() - started < timeoutMs;
    const pending = lookPending ? list.filter((s) => s.status === 'pending') : [];
    const queued = now() >= queuedDue ? list.filter((s) => s.status === 'queued') : [];
    if (queued.length > 0) queuedDue = now() + queuedPollMs;
    changed = false;
    for (const s of pending) {
      const v = o.vaultOf(s.srcEid);
      if (v === undefined) continue;
      const logs = await v.rpc.getLogs({
        address: v.vault,
        topics: [[TOPICS_LIQ.PaidOut, TOPICS_LIQ.PayoutQueued], s.id],
        fromBlock: s.fromBlock ?? 0,
      });
      // A PaidOut settles it; a PayoutQueued alone means the governor holds it.
      const hit = logs.find((l) => l.topics[0] === TOPICS_LIQ.PaidOut) ?? logs[0];
      if (hit === undefined) continue;
      settle(s, hit, o.recipient, now() - o.landedAt);
      changed = true;
    }
    for (const s of queued) {
      const v = o.vaultOf(s.srcEid);
      if (v === undefined) continue;
      const logs = await v.rpc.getLogs({
        address: v.vault,
        topics: [TOPICS_LIQ.QueuedPayoutExecuted, s.id],
        fromBlock: s.queuedBlock ?? s.fromBlock ?? 0,
      });
      const hit = logs[0];
      if (hit === undefined) continue;
      const ev = VAULT.parseLog({ topics: [...hit.topics], data: hit.data });
      s.status = 'paid';
      s.payoutTx = hit.transactionHash;
      s.payoutBlock = hit.blockNumber;
      s.latencyMs = now() - o.landedAt;
      if (ev?.args.byGuardian === true) s.clearedByGuardian = true;
      changed = true;
    }
    if (changed) await o.onUpdate?.(list);
    const stillPending = list.some((s) => s.status === 'pending') && now() - started < timeoutMs;
    const stillQueued = list.some((s) => s.status === 'queued' && o.vaultOf(s.srcEid) !== undefined);
    if (!stillPending && !stillQueued) break;
    // Slept in slices of pollMs at most, so a stop is noticed as soon as while pending.
    const wait = stillPending ? pollMs : Math.max(0, Math.min(queuedPollMs, queuedDue - now()));
    for (let left = wait; left > 0 && !o.stopped?.(); left -= pollMs)
      await new Promise((r) => setTimeout(r, Math.min(left, pollMs)));
  }
  return list;
}

/** Whether a landed liquidation still has seizures to follow (pending or queued on their chain). */
export const hasOpenSeizures = (seizures: readonly SeizeFollowUp[] | undefined): boolean =>
  (seizures ?? []).some((s) => s.status === 'pending' || s.status === 'queued');
