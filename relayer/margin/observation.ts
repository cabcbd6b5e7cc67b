// Observations of chains this node has no RPC for: another node's decoded blocks of that chain,
// accepted only with a quorum of attestor signatures over the payload. The signed digest covers the
// whole payload (chain, block range, head, every event), so a signer vouches for exactly what is
// applied. Transport: attestors publish one observation per block of the chains they serve
// (./observer.ts) on the gossip topic `observation`; every node collects the signatures of the
// chains it does not serve and applies a block once a quorum signed the same digest (./collector.ts).

import { getBytes, keccak256, toUtf8Bytes, verifyMessage, type Wallet } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { personalSign } from '../keys/personal-sign.ts';
import type { BlockRecord, MarginEvent } from './types.ts';

export const OBSERVATION_VERSION = 1;

export interface MarginObservation {
  version: typeof OBSERVATION_VERSION;
  eid: number;
  /** First block covered: the receiver's cursor + 1 (blocks without events need no record). */
  fromBlock: number;
  /** Last block covered, with its hash and time (the receiver's new cursor). */
  block: { number: number; hash: Hex; timestamp: number };
  /** The events of blocks fromBlock..block.number, in order, grouped per block. */
  blocks: { number: number; hash: Hex; timestamp: number; events: MarginEvent[] }[];
}

export interface ObservationSignature {
  signer: Address;
  signature: Hex;
}

/**
 * What attestors sign: keccak256 of the canonical JSON: object keys sorted (a receiver rebuilds the
 * object through a schema, which does not keep the publisher's key order), bigints tagged so that
 * 1n and "1" differ, no whitespace, undefined members left out.
 */
export function observationDigest(obs: MarginObservation): Hex {
  return keccak256(toUtf8Bytes(canonical(obs))) as Hex;
}

function canonical(value: unknown): string {
  if (typeof value === 'bigint') return `{"$n":"${value.toString()}"}`;
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonical(v))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError(`cannot sign ${value}`);
  return JSON.stringify(value);
}

export async function signObservation(obs: MarginObservation, wallet: Wallet): Promise<ObservationSignature> {
  const signature = await personalSign(wallet, getBytes(observationDigest(obs)));
  return { signer: wallet.address.toLowerCase() as Address, signature };
}

export function buildObservation(eid: number, fromBlock: number, records: BlockRecord[]): MarginObservation {
  const last = records.at(-1);
  if (last === undefined) throw new Error('an observation needs at least one block');
  return {
    version: OBSERVATION_VERSION,
    eid,
    fromBlock,
    block: { number: last.number, hash: last.hash, timestamp: last.timestamp },
    blocks: records.map((r) => ({
      number: r.number,
      hash: r.hash,
      timestamp: r.timestamp,
      events: r.events,
    })),
  };
}

export type ObservationVerdict = { ok: true } | { ok: false; reason: string };

/** Checks the signatures: distinct attestors of `set`, at least `quorum`, each over the digest. */
export function checkQuorum(
  obs: MarginObservation,
  signatures: readonly ObservationSignature[],
  set: { signers: readonly Address[]; quorum: number },
): ObservationVerdict {
  const allowed = new Set(set.signers.map((s) => s.toLowerCase()));
  const digest = getBytes(observationDigest(obs));
  const good = new Set<string>();
  for (const s of signatures) {
    let recovered: string;
    try {
      recovered = verifyMessage(digest, s.signature).toLowerCase();
    } catch {
      continue;
    }
    if (recovered === s.signer.toLowerCase() && allowed.has(recovered)) good.add(recovered);
  }
  if (good.size < set.quorum) {
    return { ok: false, reason: `${good.size} valid attestor signature(s), quorum is ${set.quorum}` };
  }
  return { ok: true };
}
