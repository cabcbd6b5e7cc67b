// Observations of busy blocks, in parts. A gossip envelope holds at most 64 KiB: ~90 events of the
// largest kind, ~250 deposits; a mass liquidation or a burst of deposits puts hundreds in one block. Such a block's observation is
// published as parts of EVENTS_PER_PART events (every part but the last exactly that many, so every
// honest attestor cuts the same block the same way), each carrying the block's head and the
// attestor's one signature over the digest of the WHOLE observation. The receiver reassembles each
// attestor's parts and hands the whole observation to the collector, which checks that signature as
// for any other observation: a part that was altered makes its attestor's observation of the block
// fail, nothing else.
//
// Memory: only parts signed by an attestor of the set are buffered (the collector checks the signer
// first), and per attestor at most `maxPartsPerSigner`; past it that attestor's oldest unfinished
// block is dropped. An honest attestor publishes a block's parts back to back, so it has one or two
// blocks unfinished at a time.

import type { Address } from '../config/types.ts';
import {
  EVENTS_PER_PART,
  MAX_OBSERVATION_PARTS,
  type ObservationMessage,
  type ObservationPartPayload,
  type ObservationPayload,
} from '../p2p/observation-payload.ts';
import { buildObservation, type MarginObservation, type ObservationSignature } from './observation.ts';
import type { MarginEvent } from './types.ts';

/** The gossip messages that carry `obs` signed by `signature`: itself, or its parts if it is too large. */
export function observationMessages(
  obs: MarginObservation,
  signature: ObservationSignature,
): ObservationMessage[] {
  const [only, ...more] = obs.blocks;
  if (only === undefined || more.length > 0 || only.events.length <= EVENTS_PER_PART) {
    return [{ observation: obs, signature }];
  }
  const count = Math.ceil(only.events.length / EVENTS_PER_PART);
  if (count > MAX_OBSERVATION_PARTS) {
    throw new RangeError(
      `block ${only.number} of chain ${obs.eid} holds ${only.events.length} xmargin events, more than ` +
        `${MAX_OBSERVATION_PARTS} parts of ${EVENTS_PER_PART} carry; receivers without RPC for that chain will stall at it`,
    );
  }
  return Array.from({ length: count }, (_, index) => ({
    part: {
      eid: obs.eid,
      block: obs.block,
      index,
      count,
      events: only.events.slice(index * EVENTS_PER_PART, (index + 1) * EVENTS_PER_PART),
    },
    signature,
  }));
}

/** Whether a message is one part of a split observation. */
export const isObservationPart = (message: ObservationMessage): message is ObservationPartPayload =>
  'part' in message;

/** The chain and block a message speaks of, whichever form it has. */
export function observedBlock(message: ObservationMessage): { eid: number; number: number } {
  return isObservationPart(message)
    ? { eid: message.part.eid, number: message.part.block.number }
    : { eid: message.observation.eid, number: message.observation.fromBlock };
}

export type AssembleResult =
  | { status: 'complete'; payload: ObservationPayload }
  | { status: 'pending'; missing: number }
  | { status: 'duplicate' }
  | { status: 'rejected'; reason: string };

interface Assembly {
  eid: number;
  head: ObservationPartPayload['part']['block'];
  signature: ObservationSignature;
  slices: (MarginEvent[] | undefined)[];
  have: number;
}

/** Reassembles split observations, per attestor. */
export class ObservationAssembler {
  readonly #maxPartsPerSigner: number;
  /** signer → key (chain, block, hash, count) → its parts so far; Map order = oldest first. */
  readonly #bySigner = new Map<Address, Map<string, Assembly>>();

  constructor(options: { maxPartsPerSigner?: number } = {}) {
    this.#maxPartsPerSigner = options.maxPartsPerSigner ?? 2 * MAX_OBSERVATION_PARTS;
  }

  /** Adds a part from `signer` (already checked to be an attestor); the whole observation once complete. */
  add(signer: Address, message: ObservationPartPayload): AssembleResult {
    const { part, signature } = message;
    const last = part.index === part.count - 1;
    // The split is fixed (observationMessages), so a part of another size is not an honest one.
    if (last ? part.events.length > EVENTS_PER_PART : part.events.length !== EVENTS_PER_PART) {
      return {
        status: 'rejected',
        reason: `part ${part.index} of ${part.count} holds ${part.events.length} events, expected ${last ? `at most ${EVENTS_PER_PART}` : EVENTS_PER_PART}`,
      };
    }
    let mine = this.#bySigner.get(signer);
    if (mine === undefined) {
      mine = new Map();
      this.#bySigner.set(signer, mine);
    }
    const key = `${part.eid}:${part.block.number}:${part.block.hash}:${part.block.timestamp}:${part.count}`;
    let assembly = mine.get(key);
    if (assembly === undefined) {
      assembly = {
        eid: part.eid,
        head: part.block,
        signature,
        slices: new Array(part.count).fill(undefined),
        have: 0,
      };
      mine.set(key, assembly);
    }
    if (assembly.slices[part.index] !== undefined) return { status: 'duplicate' };
    assembly.slices[part.index] = part.events;
    assembly.have++;
    if (assembly.have < part.count) {
      this.#evictBeyondCap(mine, assembly);
      return { status: 'pending', missing: part.count - assembly.have };
    }
    mine.delete(key);
    const { eid, head } = assembly;
    const observation = buildObservation(eid, head.number, [
      { eid, ...head, events: assembly.slices.flatMap((s) => s ?? []) },
    ]);
    return { status: 'complete', payload: { observation, signature: assembly.signature } };
  }

  /** Forgets unfinished blocks of chain `eid` below `block` (applied meanwhile, by other attestors' parts). */
  forgetBelow(eid: number, block: number): void {
    for (const [signer, mine] of this.#bySigner) {
      for (const [key, a] of mine) if (a.eid === eid && a.head.number < block) mine.delete(key);
      if (mine.size === 0) this.#bySigner.delete(signer);
    }
  }

  /** Parts of chain `eid` buffered, all attestors together. */
  bufferedParts(eid: number): number {
    let n = 0;
    for (const mine of this.#bySigner.values()) {
      for (const a of mine.values()) if (a.eid === eid) n += a.have;
    }
    return n;
  }

  #evictBeyondCap(mine: Map<string, Assembly>, keep: Assembly): void {
    let held = 0;
    for (const a of mine.values()) held += a.have;
    for (const [key, a] of mine) {
      if (held <= this.#maxPartsPerSigner) return;
      if (a === keep) continue;
      mine.delete(key);
      held -= a.have;
    }
  }
}
