// Observations of chains this node has no RPC for: another node's decoded blocks of that chain,
// accepted only with a quorum of attestor signatures over the payload. The signed digest covers the
// whole payload (chain, block range, head, every event), so a signer vouches for exactly what is
// applied. Gossip transport is not wired yet: a node that serves the chain builds the observation
// (`buildObservation`), attestors sign it (`signObservation`), and the receiving view calls
// `applyObservation` with the collected signatures.

import { getBytes, keccak256, toUtf8Bytes, verifyMessage, type Wallet } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import { jsonValue } from '../store/codecs.ts';
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

const codec = jsonValue<MarginObservation>();

/** What attestors sign: keccak256 of the canonical JSON (bigints tagged, keys in construction order). */
export function observationDigest(obs: MarginObservation): Hex {
  return keccak256(toUtf8Bytes(codec.encode(obs))) as Hex;
}

export async function signObservation(obs: MarginObservation, wallet: Wallet): Promise<ObservationSignature> {
  const signature = (await wallet.signMessage(getBytes(observationDigest(obs)))) as Hex;
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
