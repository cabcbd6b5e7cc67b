// After a liquidation landed: which collateral it seized, and whether each seizure was paid out on
// its own chain. Local seizures pay out inside the liquidation transaction (the vault's PaidOut is in
// the same receipt); remote ones travel as SEIZE messages and are paid when the vault receives them
// (PaidOut), or held by the vault's governor (PayoutQueued). The latency from our receipt to the
// payout is what an operator wants to see.

import type { TransactionReceipt } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { ENGINE, KIND_SEIZE, TOPICS_LIQ } from './abi.ts';
import type { LiqRpc } from './rpc.ts';
import type { BadDebt, SeizeFollowUp } from './types.ts';

/** The SEIZE debits of a liquidation receipt, marked paid when their PaidOut is in the same receipt. */
export function seizuresOf(receipt: TransactionReceipt, engine: Address): SeizeFollowUp[] {
  const out: SeizeFollowUp[] = [];
  const paid = new Map<string, Hex>();
  for (const log of receipt.logs) {
    if (log.topics[0] === TOPICS_LIQ.PaidOut)
      paid.set((log.topics[1] ?? '').toLowerCase(), receipt.hash as Hex);
  }
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== engine.toLowerCase() || log.topics[0] !== TOPICS_LIQ.Debited) continue;
    const ev = ENGINE.parseLog({ topics: [...log.topics], data: log.data });
    if (ev === null || Number(ev.args.kind) !== KIND_SEIZE) continue;
    const id = (ev.args.id as string).toLowerCase() as Hex;
    const payoutTx = paid.get(id);
    out.push({
      id,
      srcEid: Number(ev.args.srcEid),
      token: ev.args.token as Address,
      amount: ev.args.amount as bigint,
      ...(payoutTx === undefined
        ? { status: 'pending' as const }
        : { status: 'paid' as const, payoutTx, latencyMs: 0 }),
    });
  }
  return out;
}

/** The bad debt a liquidation receipt settled (the engine's BadDebtSettled), if any. */
export function badDebtOf(receipt: TransactionReceipt, engine: Address): BadDebt | undefined {
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== engine.toLowerCase() || log.topics[0] !== TOPICS_LIQ.BadDebtSettled)
      continue;
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
  /** ms when our receipt was seen: latencies count from it. */
  landedAt: number;
  timeoutMs?: number;
  pollMs?: number;
  now?: () => number;
  /** Called after each change, so the journal shows progress before everything is paid. */
  onUpdate?: (seizures: SeizeFollowUp[]) => Promise<void>;
  stopped?: () => boolean;
}

/** Waits until every pending seizure is paid or queued on its vault chain, or the timeout passes. */
export async function followSeizures(seizures: SeizeFollowUp[], o: FollowOptions): Promise<SeizeFollowUp[]> {
  const now = o.now ?? Date.now;
  const timeoutMs = o.timeoutMs ?? 600_000;
  const pollMs = o.pollMs ?? 1_000;
  const list = seizures.map((s) => ({ ...s }));
  // Lower bound of where a payout can be: the vault chain's head now (the SEIZE left after this).
  const fromBlock = new Map<number, number>();
  for (const s of list) {
    if (s.status !== 'pending' || fromBlock.has(s.srcEid)) continue;
    const v = o.vaultOf(s.srcEid);
    if (v === undefined) {
      s.status = 'unknown';
      continue;
    }
    fromBlock.set(s.srcEid, Math.max(0, (await v.rpc.blockNumber()) - 2));
  }
  for (const s of list) if (s.status === 'pending' && !fromBlock.has(s.srcEid)) s.status = 'unknown';

  while (list.some((s) => s.status === 'pending') && now() - o.landedAt < timeoutMs && !o.stopped?.()) {
    let changed = false;
    for (const s of list) {
      if (s.status !== 'pending') continue;
      const v = o.vaultOf(s.srcEid) as { vault: Address; rpc: LiqRpc };
      const logs = await v.rpc.getLogs({
        address: v.vault,
        topics: [[TOPICS_LIQ.PaidOut, TOPICS_LIQ.PayoutQueued], s.id],
        fromBlock: fromBlock.get(s.srcEid) ?? 0,
      });
      const paid = logs.find((l) => l.topics[0] === TOPICS_LIQ.PaidOut);
      const queued = logs.find((l) => l.topics[0] === TOPICS_LIQ.PayoutQueued);
      const hit = paid ?? queued;
      if (hit === undefined) continue;
      s.status = paid !== undefined ? 'paid' : 'queued';
      s.payoutTx = hit.transactionHash;
      s.latencyMs = now() - o.landedAt;
      changed = true;
    }
    if (changed) await o.onUpdate?.(list);
    if (list.some((s) => s.status === 'pending')) await new Promise((r) => setTimeout(r, pollMs));
  }
  return list;
}
