// The observation collector (every node): for the chains in the networks file that this node does
// NOT serve, it gathers the attestors' signed one-block observations (./observer.ts) and applies a
// block to the margin view once `quorum` distinct attestors signed the same digest for it and it is
// the block right after the view's cursor. Anything less is never applied.
//
// Per (chain, block) it keeps, per digest, the signatures seen (one per attestor: an attestor that
// signs two digests for one block is logged and its second one dropped). Blocks ahead of the cursor
// wait in a window of `window` blocks (farther ones are dropped: the publishers send in order, so
// they come back as the cursor moves only if re-sent — the window is what absorbs gossip reordering
// and attestors running at different paces). Once a digest has the quorum for a block, other digests
// for that block are dropped and logged as a disagreement between attestors; the applied digests of
// the last `window` blocks are remembered to flag late conflicting ones too. Memory is bounded by
// window × attestors observations per chain.
//
// A busy block's observation arrives in parts (./observation-parts.ts): the parts of each attestor are
// reassembled first (only an attestor's parts are buffered, and only for blocks inside the window),
// and the whole observation then goes the same way as any other.

import { getBytes, verifyMessage } from 'ethers';
import type { Address, DvnConfig, Hex } from '../config/types.ts';
import type { Logger } from '../log.ts';
import type { ObservationMessage, ObservationPayload } from '../p2p/observation-payload.ts';
import { type MarginObservation, type ObservationSignature, observationDigest } from './observation.ts';
import { isObservationPart, ObservationAssembler, observedBlock } from './observation-parts.ts';
import type { MarginView } from './view.ts';

export interface CollectorOptions {
  view: Pick<MarginView, 'applyObservation' | 'cursor'>;
  /** Eids of the chains known only through observations. */
  observed: readonly number[];
  attestors: DvnConfig;
  log: Logger;
  /** The first block expected of a chain the view has no cursor for (default 0). */
  startBlock?: number;
  /** Blocks ahead of the cursor that are buffered per chain (default 256). */
  window?: number;
}

export type CollectOutcome =
  /** It completed a quorum and the view applied one or more blocks. */
  | 'applied'
  /** Counted (or, for a part, buffered); its block waits for more signatures, parts or earlier blocks. */
  | 'pending'
  /** This attestor's signature for this digest was already counted, or the block is applied. */
  | 'duplicate'
  /** Not for this node (a chain it serves or does not know) or too far ahead of the cursor. */
  | 'ignored'
  /** Invalid: malformed range, signer outside the attestor set, signature not by the signer. */
  | 'rejected'
  /** A digest that contradicts a quorum (or the same attestor's other signature) for that block. */
  | 'conflict';

export interface CollectorChainStats {
  cursor: number;
  buffered: number;
  applied: number;
  rejected: number;
  conflicts: number;
  /** Parts of split observations waiting for the rest of their block. */
  parts: number;
}

export interface ObservationCollector {
  receive(message: ObservationMessage): Promise<{ outcome: CollectOutcome; reason?: string }>;
  stats(): Record<number, CollectorChainStats>;
}

interface Candidate {
  obs: MarginObservation;
  signatures: Map<Address, ObservationSignature>;
}

interface Slot {
  /** digest → observation and the signatures over it */
  candidates: Map<Hex, Candidate>;
  /** attestor → the digest it signed for this block */
  bySigner: Map<Address, Hex>;
  /** The digest that reached the quorum, once one has. */
  quorum?: Hex;
}

interface ChainBook {
  pending: Map<number, Slot>;
  /** block → applied digest, the last `window` blocks */
  applied: Map<number, Hex>;
  stats: Omit<CollectorChainStats, 'cursor' | 'buffered' | 'parts'>;
}

export function createCollector(options: CollectorOptions): ObservationCollector {
  const log = options.log.child({ module: 'collector' });
  const window = options.window ?? 256;
  const startBlock = options.startBlock ?? 0;
  const quorum = options.attestors.quorum;
  const allowed = new Set(options.attestors.signers.map((s) => s.toLowerCase() as Address));
  const books = new Map<number, ChainBook>(
    options.observed.map((eid) => [
      eid,
      { pending: new Map(), applied: new Map(), stats: { applied: 0, rejected: 0, conflicts: 0 } },
    ]),
  );
  const assembler = new ObservationAssembler();
  /** Applying is serialised: one drain at a time, in block order. */
  let draining: Promise<unknown> = Promise.resolve();

  const next = (eid: number): number => {
    const cur = options.view.cursor(eid);
    return cur >= 0 ? cur + 1 : startBlock;
  };

  function validate(payload: ObservationPayload): { signer: Address; digest: Hex } | string {
    const { observation: obs, signature } = payload;
    const n = obs.fromBlock;
    if (obs.block.number !== n) return `covers ${n}..${obs.block.number}, expected exactly one block`;
    if (obs.blocks.length > 1) return `lists ${obs.blocks.length} blocks, expected at most one`;
    const b = obs.blocks[0];
    if (
      b !== undefined &&
      (b.number !== n || b.hash !== obs.block.hash || b.timestamp !== obs.block.timestamp)
    ) {
      return 'its block record does not match its head';
    }
    const signer = signature.signer.toLowerCase() as Address;
    if (!allowed.has(signer)) return `signer ${signer} is not in the attestor set`;
    const digest = observationDigest(obs);
    let recovered: string;
    try {
      recovered = verifyMessage(getBytes(digest), signature.signature).toLowerCase();
    } catch {
      return 'unreadable signature';
    }
    if (recovered !== signer) return `signature recovers to ${recovered}, not the claimed ${signer}`;
    return { signer, digest };
  }

  function remember(book: ChainBook, n: number, digest: Hex): void {
    book.applied.set(n, digest);
    for (const k of book.applied.keys()) {
      if (book.applied.size <= window) break;
      book.applied.delete(k);
    }
  }

  /** Applies every block that has its quorum, from the cursor on. */
  async function drain(eid: number, book: ChainBook): Promise<number> {
    let applied = 0;
    for (;;) {
      const n = next(eid);
      for (const k of book.pending.keys()) if (k < n) book.pending.delete(k);
      const slot = book.pending.get(n);
      const digest = slot?.quorum;
      const candidate = digest === undefined ? undefined : slot?.candidates.get(digest);
      if (slot === undefined || digest === undefined || candidate === undefined) return applied;
      const result = await options.view.applyObservation(candidate.obs, [...candidate.signatures.values()]);
      book.pending.delete(n);
      if (!result.accepted) {
        log.warn({ eid, block: n, reason: result.reason }, 'quorum observation not applied');
        return applied;
      }
      remember(book, n, digest);
      book.stats.applied++;
      applied++;
    }
  }

  async function receive(message: ObservationMessage): Promise<{ outcome: CollectOutcome; reason?: string }> {
    if (!isObservationPart(message)) return receiveWhole(message);
    const { eid, number: n } = observedBlock(message);
    const book = books.get(eid);
    if (book === undefined) return { outcome: 'ignored', reason: `chain ${eid} is not observed here` };
    const signer = message.signature.signer.toLowerCase() as Address;
    if (!allowed.has(signer)) {
      book.stats.rejected++;
      return { outcome: 'rejected', reason: `signer ${signer} is not in the attestor set` };
    }
    const expected = next(eid);
    assembler.forgetBelow(eid, expected);
    if (n < expected) return { outcome: 'duplicate', reason: 'block already applied' };
    if (n >= expected + window) {
      return { outcome: 'ignored', reason: `block ${n} is beyond the window (next is ${expected})` };
    }
    const assembled = assembler.add(signer, message);
    switch (assembled.status) {
      case 'complete':
        return receiveWhole(assembled.payload);
      case 'pending':
        return { outcome: 'pending' };
      case 'duplicate':
        return { outcome: 'duplicate', reason: 'part already held' };
      case 'rejected':
        book.stats.rejected++;
        log.debug({ eid, block: n, signer, reason: assembled.reason }, 'observation part rejected');
        return { outcome: 'rejected', reason: assembled.reason };
    }
  }

  async function receiveWhole(
    payload: ObservationPayload,
  ): Promise<{ outcome: CollectOutcome; reason?: string }> {
    const obs = payload.observation;
    const book = books.get(obs.eid);
    if (book === undefined) return { outcome: 'ignored', reason: `chain ${obs.eid} is not observed here` };
    const checked = validate(payload);
    if (typeof checked === 'string') {
      book.stats.rejected++;
      log.debug({ eid: obs.eid, block: obs.fromBlock, reason: checked }, 'observation rejected');
      return { outcome: 'rejected', reason: checked };
    }
    const { signer, digest } = checked;
    const n = obs.fromBlock;
    const expected = next(obs.eid);
    if (n < expected) {
      const done = book.applied.get(n);
      if (done !== undefined && done !== digest) {
        book.stats.conflicts++;
        log.error(
          { eid: obs.eid, block: n, signer, digest, applied: done },
          'ATTESTORS DISAGREE: an attestor signed a different digest for a block applied with a quorum',
        );
        return { outcome: 'conflict', reason: 'contradicts the applied quorum' };
      }
      return { outcome: 'duplicate', reason: 'block already applied' };
    }
    if (n >= expected + window) {
      return { outcome: 'ignored', reason: `block ${n} is beyond the window (next is ${expected})` };
    }
    let slot = book.pending.get(n);
    if (slot === undefined) {
      slot = { candidates: new Map(), bySigner: new Map() };
      book.pending.set(n, slot);
    }
    const earlier = slot.bySigner.get(signer);
    if (earlier !== undefined) {
      if (earlier === digest) return { outcome: 'duplicate', reason: 'signature already counted' };
      book.stats.conflicts++;
      log.error(
        { eid: obs.eid, block: n, signer, digest, earlier },
        'ATTESTORS DISAGREE: an attestor signed two different digests for one block',
      );
      return { outcome: 'conflict', reason: 'this attestor signed another digest for the block' };
    }
    if (slot.quorum !== undefined && slot.quorum !== digest) {
      book.stats.conflicts++;
      log.error(
        { eid: obs.eid, block: n, signer, digest, quorum: slot.quorum },
        'ATTESTORS DISAGREE: a digest contradicts the one a quorum signed',
      );
      return { outcome: 'conflict', reason: 'contradicts the quorum for this block' };
    }
    slot.bySigner.set(signer, digest);
    let candidate = slot.candidates.get(digest);
    if (candidate === undefined) {
      candidate = { obs, signatures: new Map() };
      slot.candidates.set(digest, candidate);
    }
    candidate.signatures.set(signer, payload.signature);
    if (slot.quorum === undefined && candidate.signatures.size >= quorum) {
      slot.quorum = digest;
      if (slot.candidates.size > 1) {
        book.stats.conflicts++;
        log.error(
          {
            eid: obs.eid,
            block: n,
            quorum: digest,
            others: [...slot.candidates.keys()].filter((d) => d !== digest),
          },
          'ATTESTORS DISAGREE: other digests were signed for a block that reached a quorum',
        );
      }
      // Only the quorum's observation is kept for the block.
      for (const d of [...slot.candidates.keys()]) if (d !== digest) slot.candidates.delete(d);
    }
    if (slot.quorum === undefined) return { outcome: 'pending' };
    // Drain even when this block is not the next one: a drain in progress may have moved the cursor.
    const run = draining.then(() => drain(obs.eid, book));
    draining = run.catch(() => undefined);
    const applied = await run;
    return applied > 0 ? { outcome: 'applied' } : { outcome: 'pending' };
  }

  return {
    receive,
    stats() {
      const out: Record<number, CollectorChainStats> = {};
      for (const [eid, book] of books) {
        out[eid] = {
          cursor: options.view.cursor(eid),
          buffered: book.pending.size,
          parts: assembler.bufferedParts(eid),
          ...book.stats,
        };
      }
      return out;
    },
  };
}
