// The attestor (DVN) role. For each confirmed PacketSent that assigns the xmargin DVN and goes to a
// chain this node serves, it queues the packet (persisted with the follower's cursor, so a restart
// does not lose it), signs the verification once the source is deep enough for the receive config,
// and gossips the signature. A transient failure (an RPC down, a timeout) keeps the packet queued
// and retries it with backoff; only a refusal (the RPCs disagree, or the agreed logs lack the
// packet) drops it; it collects the
// other attestors' signatures; once it holds a quorum, the node ranked first by rendezvous hashing
// of (guid, signer) over the live attestors submits DVN.execute and then commitVerification. The
// next-ranked node takes over after a deadline if nothing landed. Every step first asks the chain
// whether it already happened, so nothing is submitted twice once it landed.

import type { Wallet } from 'ethers';
import type { FollowerEvent } from '../relayer/chain/follower.ts';
import type { Address, DvnConfig, Hex } from '../relayer/config/types.ts';
import { coalesce } from '../relayer/liquidation/ticker.ts';
import type { GossipNetwork, SignedMessage } from '../relayer/p2p/types.ts';
import type { BatchOp } from '../relayer/store/controller.ts';
import { TOPIC } from './abi.ts';
import {
  combineSignatures,
  dvnHash,
  expirationFor,
  recoverDvnSigner,
  signDvnHash,
  verifyCallData,
} from './dvn.ts';
import { DEST_STATE, type LzChain, type PacketRef } from './lz.ts';
import { decodePacket, HEADER_LENGTH, parsePacketJobs } from './packets.ts';
import {
  isRefusal,
  NotConfirmedError,
  RefusalLog,
  type RefusalReason,
  type RefusalsSnapshot,
} from './refusals.ts';
import { rendezvousRank } from './rendezvous.ts';
import type { AttestRecord, AttestStore, QueuedPacket, SignatureStore, SignQueue } from './stores.ts';

/** The `dvnSignature` gossip payload. Integers wider than 53 bits travel as decimal strings. */
export interface DvnSignaturePayload {
  srcEid: number;
  dstEid: number;
  nonce: string;
  guid: Hex;
  header: Hex;
  payloadHash: Hex;
  confirmations: string;
  expiration: string;
  signature: Hex;
}

export interface AttestorOptions {
  dvn: DvnConfig;
  /** How long rank k waits (k × this) after holding a quorum before it submits itself. */
  fallbackDelayMs?: number;
  /** Own signatures of open packets are re-gossiped this often (gossip keeps no history). */
  republishMs?: number;
  tickMs?: number;
  /** First retry delay after a transient signing failure; doubles per attempt up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

export interface AttestorModules {
  wallet: Wallet;
  gossip: GossipNetwork;
  /** Chains this node serves, by eid. */
  chains: Map<number, LzChain>;
  /** EVM addresses of the attestors currently seen alive (heartbeats). */
  liveSigners: () => Address[];
  signatures: SignatureStore;
  records: AttestStore;
  /** Confirmed packets not yet signed (waiting for confirmations or a retry). */
  queue: SignQueue;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
  /** Called on every packet the attestor refuses to sign (the node counts it in /metrics). */
  onRefusal?: (reason: RefusalReason) => void;
}

const HEX = /^0x[0-9a-fA-F]*$/;
/** Gas limit of a commitVerification sent right behind its DVN.execute (about 90k used). */
const COMMIT_GAS = 400_000n;
const UINT = /^[0-9]{1,78}$/;

export class Attestor {
  private readonly opts: Required<AttestorOptions>;
  private readonly m: AttestorModules;
  private readonly signers: Set<string>;
  /** Queued packets (committed with their block's cursor) not signed yet, by guid. */
  private readonly waiting = new Map<Hex, QueuedPacket>();
  /**
   * Per source chain: packets of confirmed blocks whose cursor is not committed yet. They join
   * `waiting` once it is (committed()): a packet is never signed before it is safely queued.
   */
  private readonly staged = new Map<string, Map<Hex, QueuedPacket>>();
  /** Highest block seen per source eid. */
  private readonly tips = new Map<number, number>();
  private readonly busy = new Set<Hex>();
  private readonly refused: RefusalLog;
  private timer: NodeJS.Timeout | undefined;
  private lastRepublish = 0;
  private stopped = true;

  constructor(options: AttestorOptions, modules: AttestorModules) {
    this.opts = {
      fallbackDelayMs: 15_000,
      republishMs: 5_000,
      tickMs: 500,
      retryMs: 2_000,
      maxRetryMs: 60_000,
      ...options,
    };
    this.m = modules;
    this.signers = new Set(options.dvn.signers.map((s) => s.toLowerCase()));
    this.refused = new RefusalLog({
      now: () => this.now(),
      ...(modules.onRefusal === undefined ? {} : { onRefusal: modules.onRefusal }),
    });
  }

  /** Packets this attestor refused to sign since start, per reason, and the latest ones. */
  refusals(): RefusalsSnapshot {
    return this.refused.snapshot();
  }

  /** Record writes are read-modify-write; one queue keeps gossip, signing and ticks from clobbering each other. */
  private lock: Promise<unknown> = Promise.resolve();
  private async update(
    hash: Hex,
    init: () => AttestRecord,
    fn: (r: AttestRecord) => void | Promise<void>,
  ): Promise<AttestRecord> {
    const run = this.lock.then(async () => {
      const record = (await this.m.records.get(hash)) ?? init();
      await fn(record);
      await this.m.records.put(record);
      return record;
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies `change` to the packet's record and marks its quorum when the record now reaches it. The
   * node ranked first for the packet then submits at once, not through a tick: a tick in progress
   * waits for its own submissions' receipts, up to a block, and the quorum would miss the
   * destination's next block behind it.
   */
  private async updateTowardQuorum(
    hash: Hex,
    init: () => AttestRecord,
    change: (r: AttestRecord) => void = () => undefined,
  ): Promise<AttestRecord> {
    let reached = false;
    const record = await this.update(hash, init, async (r) => {
      change(r);
      if (r.quorumAt !== undefined || (await this.m.signatures.list(r.hash)).length < this.opts.dvn.quorum)
        return;
      r.quorumAt = this.now();
      this.log('quorum', { guid: r.guid });
      reached = true;
    });
    if (reached && !this.stopped && record.state !== 'committed') {
      const rank = rendezvousRank(record.guid, this.m.wallet.address as Address, this.liveAttestors());
      if (rank === 0) void this.launch(record);
    }
    return record;
  }

  /** Runs `advance` unless this packet's is already running; a failure is recorded on the packet. */
  private launch(record: AttestRecord): Promise<void> {
    if (this.busy.has(record.hash)) return Promise.resolve();
    this.busy.add(record.hash);
    return this.advance(record)
      .catch(async (err: unknown) => {
        await this.setFields(record, { lastError: String(err) });
        this.log('advance failed', { guid: record.guid, err: String(err) });
      })
      .finally(() => this.busy.delete(record.hash));
  }

  /** Ticks never overlap: a kick during one runs one more right after it. */
  private readonly coalescedTick = coalesce(
    () => this.tick().catch((err: unknown) => this.log('attestor tick failed', { err: String(err) })),
    () => this.stopped,
  );
  private ticking: Promise<void> | undefined;
  /** Runs a tick now, or once more right after the running one. */
  private kick(): void {
    this.ticking = this.coalescedTick();
  }

  private now(): number {
    return this.m.now?.() ?? Date.now();
  }

  private log(msg: string, fields?: Record<string, unknown>): void {
    this.m.log?.(msg, fields);
  }

  /** Loads the packets still owed a signature from the store, then runs the tick loop. */
  async start(): Promise<void> {
    for (const q of await this.m.queue.list()) this.waiting.set(q.job.packet.guid, q);
    this.stopped = false;
    this.m.gossip.subscribe<DvnSignaturePayload>('dvnSignature', (msg) => this.onSignature(msg));
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      this.kick();
      // Retries come due with time, not only with new blocks (an automining chain may make none).
      if (this.waiting.size > 0)
        this.signWaiting().catch((err: unknown) => this.log('signing pass failed', { err: String(err) }));
      await this.ticking;
      if (!this.stopped) this.timer = setTimeout(loop, this.opts.tickMs);
    };
    this.timer = setTimeout(loop, this.opts.tickMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Follower events of any served chain (as source). For a confirmed block, returns the writes that
   * queue its packets: the follower commits them with its cursor, then calls committed().
   */
  async onChainEvent(event: FollowerEvent): Promise<BatchOp[]> {
    const chain = [...this.m.chains.values()].find((c) => c.config.name === event.chain);
    if (chain === undefined) return [];
    if (event.type === 'block') {
      this.tips.set(chain.config.eid, event.block.number);
      await this.signWaiting();
      return [];
    }
    if (event.type !== 'confirmed') return [];
    const { jobs, errors } = parsePacketJobs(event.logs, chain.config.layerZero);
    for (const { log, error } of errors)
      this.log('undecodable PacketSent', { tx: log.transactionHash, err: error.message });
    const writes: BatchOp[] = [];
    for (const job of jobs) {
      if (!job.dvnAssigned) continue;
      const dst = this.m.chains.get(job.packet.dstEid);
      if (dst === undefined) continue; // not a destination this node serves
      const config = await dst.ulnConfig(job.packet.receiver, job.packet.srcEid);
      if (!dst.listsOurDvn(config)) {
        this.log('destination does not list our DVN; not signing', { guid: job.packet.guid });
        continue;
      }
      const queued: QueuedPacket = {
        job,
        blockTimestamp: event.block.timestamp,
        confirmations: config.confirmations,
        attempts: 0,
        nextAttemptAt: 0,
      };
      const staged = this.staged.get(event.chain) ?? new Map<Hex, QueuedPacket>();
      this.staged.set(event.chain, staged);
      staged.set(job.packet.guid, queued);
      writes.push(this.m.queue.putOp(queued));
    }
    return writes;
  }

  /**
   * The follower of `chain` committed its cursor at block `cursor` with the writes handed back so
   * far: the packets staged for it are queued for good and may be signed now.
   */
  async committed(chain: string, cursor: number): Promise<void> {
    const lz = [...this.m.chains.values()].find((c) => c.config.name === chain);
    // The cursor is a block the chain has: after a restart it may be the only tip known yet.
    if (lz !== undefined) this.tips.set(lz.config.eid, Math.max(this.tips.get(lz.config.eid) ?? 0, cursor));
    const staged = this.staged.get(chain);
    this.staged.delete(chain);
    for (const [guid, q] of staged ?? []) if (!this.waiting.has(guid)) this.waiting.set(guid, q);
    await this.signWaiting();
  }

  /** One signing pass at a time: the follower's events and the retry clock share it. */
  private readonly signWaiting = coalesce(
    () => this.signDue(),
    () => this.stopped,
  );

  /**
   * Signs the queued packets the source chain has buried deep enough for the receive config, whose
   * retry (if any) is due. Signed or refused: dequeued. A transient failure: retried with backoff,
   * until the signature would have expired (then it is recorded as a refusal with its reason).
   */
  private async signDue(): Promise<void> {
    for (const [guid, w] of this.waiting) {
      const tip = this.tips.get(w.job.packet.srcEid) ?? 0;
      if (BigInt(tip - w.job.blockNumber) < w.confirmations) continue;
      if (this.now() < w.nextAttemptAt) continue;
      try {
        await this.sign(w);
      } catch (err) {
        // Retrying past the signature's expiration could only produce a signature DVN.execute skips.
        if (!isRefusal(err) && this.now() / 1000 < Number(expirationFor(w.blockTimestamp))) {
          await this.retryLater(w, err);
          continue;
        }
        const reason = this.refused.record(guid, err);
        this.log('not signing', { guid, reason, err: String(err) });
      }
      this.waiting.delete(guid);
      await this.m.queue.delete(guid);
    }
  }

  private async retryLater(w: QueuedPacket, err: unknown): Promise<void> {
    const attempts = w.attempts + 1;
    const delay = Math.min(this.opts.maxRetryMs, this.opts.retryMs * 2 ** (attempts - 1));
    const next: QueuedPacket = {
      ...w,
      attempts,
      nextAttemptAt: this.now() + delay,
      lastError: String(err).slice(0, 240),
    };
    this.waiting.set(w.job.packet.guid, next);
    await this.m.queue.put(next);
    this.log('signing failed; retrying', {
      guid: w.job.packet.guid,
      attempts,
      delayMs: delay,
      err: String(err),
    });
  }

  private async sign({ job, blockTimestamp, confirmations }: QueuedPacket): Promise<void> {
    const { packet } = job;
    const src = this.m.chains.get(packet.srcEid) as LzChain;
    const dst = this.m.chains.get(packet.dstEid) as LzChain;
    // Every configured RPC of the source must report this very PacketSent in this very block;
    // getLogsAgreed throws RpcDisagreement otherwise, and we do not sign.
    const agreed = await src.rpc.getLogsAgreed({
      address: [src.config.layerZero.endpointV2, src.config.layerZero.sendUln302],
      topics: [[TOPIC.PacketSent, TOPIC.DVNFeePaid, TOPIC.ExecutorFeePaid]],
      blockHash: job.blockHash,
    });
    const seen = parsePacketJobs(agreed, src.config.layerZero).jobs.find(
      (j) => j.packet.guid === packet.guid && j.packet.payloadHash === packet.payloadHash && j.dvnAssigned,
    );
    if (seen === undefined)
      throw new NotConfirmedError(`PacketSent ${packet.guid} not confirmed by every RPC`);
    const expiration = expirationFor(blockTimestamp);
    const hash = dvnHash(
      await dst.vid(),
      dst.config.layerZero.receiveUln302,
      expiration,
      verifyCallData(packet.header, packet.payloadHash, confirmations),
    );
    const existing = await this.m.records.get(hash);
    if (existing?.ownSignature !== undefined) return; // signed before (a replayed block after restart)
    const signature = await signDvnHash(this.m.wallet, hash);
    await this.m.signatures.add(hash, this.m.wallet.address as Address, signature);
    const init = () =>
      this.newRecord(
        hash,
        packet.srcEid,
        packet.dstEid,
        packet.nonce,
        packet.guid,
        packet.header,
        packet.payloadHash,
        confirmations,
        expiration,
      );
    const record = await this.updateTowardQuorum(hash, init, (r) => {
      r.ownSignature = signature;
    });
    this.log('signed', { guid: packet.guid, nonce: packet.nonce.toString() });
    await this.publish(record);
  }

  private newRecord(
    hash: Hex,
    srcEid: number,
    dstEid: number,
    nonce: bigint,
    guid: Hex,
    header: Hex,
    payloadHash: Hex,
    confirmations: bigint,
    expiration: bigint,
  ): AttestRecord {
    return {
      hash,
      srcEid,
      dstEid,
      nonce,
      guid,
      header,
      payloadHash,
      confirmations,
      expiration,
      state: 'collecting',
    };
  }

  private async publish(r: AttestRecord): Promise<void> {
    if (r.ownSignature === undefined) return;
    const payload: DvnSignaturePayload = {
      srcEid: r.srcEid,
      dstEid: r.dstEid,
      nonce: r.nonce.toString(),
      guid: r.guid,
      header: r.header,
      payloadHash: r.payloadHash,
      confirmations: r.confirmations.toString(),
      expiration: r.expiration.toString(),
      signature: r.ownSignature,
    };
    await this.m.gossip.publish('dvnSignature', payload);
  }

  /** A signature from gossip: only from DVN signers, only if it recovers to its sender, once. */
  async onSignature(msg: SignedMessage<DvnSignaturePayload>): Promise<void> {
    const p = msg.payload;
    if (!this.signers.has(msg.signer.toLowerCase())) return;
    if (!wellFormed(p)) return;
    const dst = this.m.chains.get(p.dstEid);
    if (dst === undefined) return;
    const hash = dvnHash(
      await dst.vid(),
      dst.config.layerZero.receiveUln302,
      BigInt(p.expiration),
      verifyCallData(p.header, p.payloadHash, BigInt(p.confirmations)),
    );
    let signer: Address;
    try {
      signer = recoverDvnSigner(hash, p.signature);
    } catch {
      return;
    }
    if (signer.toLowerCase() !== msg.signer.toLowerCase()) return;
    if (!(await this.m.signatures.add(hash, signer, p.signature))) return; // duplicate
    const init = () =>
      this.newRecord(
        hash,
        p.srcEid,
        p.dstEid,
        BigInt(p.nonce),
        p.guid,
        p.header,
        p.payloadHash,
        BigInt(p.confirmations),
        BigInt(p.expiration),
      );
    await this.updateTowardQuorum(hash, init);
  }

  /** One pass over open packets: republish own signatures, advance the ones whose turn it is. */
  async tick(): Promise<void> {
    const republish = this.now() - this.lastRepublish >= this.opts.republishMs;
    if (republish) this.lastRepublish = this.now();
    const advancing: Promise<void>[] = [];
    for (const record of await this.m.records.open()) {
      // Re-gossip our signature until the chain shows the packet verified — also once we hold a
      // quorum ourselves: the attestor ranked first may not (after a partition heals, nodes that had
      // their quorum stopped re-gossiping, the first-ranked never got their signatures, and the
      // packet waited a whole fallback deadline). Before re-gossiping, ask the chain: someone may have
      // finished without us hearing; that also closes the record rather than at our deadline (up to
      // rank x 15 s later), so the store and /status agree with the chain.
      if (republish && !this.busy.has(record.hash)) {
        if (await this.markIfCommitted(record)) continue;
        await this.publish(record);
      }
      if (record.quorumAt === undefined) continue;
      const rank = rendezvousRank(record.guid, this.m.wallet.address as Address, this.liveAttestors());
      if (this.now() < record.quorumAt + rank * this.opts.fallbackDelayMs) continue;
      if (this.busy.has(record.hash)) continue;
      // Packets advance concurrently: their transactions share blocks instead of one per block.
      advancing.push(this.launch(record));
    }
    await Promise.all(advancing);
  }

  private liveAttestors(): Address[] {
    return this.m.liveSigners().filter((s) => this.signers.has(s.toLowerCase()));
  }

  private ref(r: AttestRecord): PacketRef {
    const packet = decodeHeader(r.header);
    return {
      srcEid: r.srcEid,
      sender: packet.sender,
      nonce: r.nonce,
      receiver: packet.receiver,
      header: r.header,
      payloadHash: r.payloadHash,
    };
  }

  private async markIfCommitted(record: AttestRecord): Promise<boolean> {
    const dst = this.m.chains.get(record.dstEid) as LzChain;
    if (!(await dst.committed(this.ref(record)))) return false;
    await this.setFields(record, { state: 'committed' });
    return true;
  }

  /** execute → commit, each step only if the chain says it is still needed. */
  private async advance(record: AttestRecord): Promise<void> {
    const dst = this.m.chains.get(record.dstEid) as LzChain;
    const ref = this.ref(record);
    // Both reads at once: the verify has a block to make, and these are its only round trips.
    const [destState, config] = await Promise.all([dst.state(ref), dst.ulnConfig(ref.receiver, ref.srcEid)]);
    let state = destState;
    if (state === DEST_STATE.pending) {
      const sigs = (await this.m.signatures.list(record.hash)).map((s) => s.signature);
      const signatures = combineSignatures(record.hash, sigs, this.opts.dvn.quorum, this.opts.dvn.signers);
      // When our DVN is the only one the receive config waits for, commitVerification is sent right
      // behind DVN.execute (next nonce, fixed gas: it cannot be estimated before the verify lands),
      // so both land in the same block. If it reverts anyway, the step below commits as before.
      const onlyUs =
        config.optionalDVNThreshold === 0 &&
        config.requiredDVNs.length > 0 &&
        config.requiredDVNs.every((a) => a.toLowerCase() === dst.config.layerZero.dvn.toLowerCase());
      const executing = dst.execute(this.m.wallet, [
        {
          vid: await dst.vid(),
          target: dst.config.layerZero.receiveUln302,
          callData: verifyCallData(record.header, record.payloadHash, record.confirmations),
          expiration: record.expiration,
          signatures,
        },
      ]);
      const committing = onlyUs
        ? dst.commit(this.m.wallet, ref, COMMIT_GAS).then(
            (r) => r,
            () => undefined,
          )
        : undefined;
      const outcome = await executing;
      if (!outcome.ok)
        throw new Error(`DVN.execute ${outcome.txHash}: ${outcome.reason} ${outcome.detail ?? ''}`);
      this.log('verified', { guid: record.guid, tx: outcome.txHash });
      state = DEST_STATE.verifiedByUs;
      const committed = await committing;
      if (committed !== undefined && committed.status === 1) {
        this.log('committed', { guid: record.guid, tx: committed.hash });
        await this.setFields(record, { state: 'committed' });
        return;
      }
    }
    if (state === DEST_STATE.verifiedByUs) {
      await this.setFields(record, { state: 'verified' });
      // Other required DVNs may not have verified yet: then try again on a later tick.
      if (!(await dst.verifiable(ref))) return;
      const receipt = await dst.commit(this.m.wallet, ref);
      this.log('committed', { guid: record.guid, tx: receipt.hash });
    }
    await this.setFields(record, { state: 'committed' });
  }

  private async setFields(record: AttestRecord, fields: Partial<AttestRecord>): Promise<void> {
    await this.update(
      record.hash,
      () => record,
      (r) => void Object.assign(r, fields),
    );
  }
}

/** Sender and receiver out of an 81-byte header (the rest of the fields travel beside it). */
function decodeHeader(header: Hex): { sender: Hex; receiver: Address } {
  // decodePacket wants a payload too; a dummy guid would fail its check, so slice directly.
  const sender = `0x${header.slice(2 + 13 * 2, 2 + 45 * 2)}` as Hex;
  const receiver = `0x${header.slice(2 + 49 * 2 + 24, 2 + 81 * 2)}` as Address;
  return { sender, receiver };
}

/** Shape and internal consistency of a gossiped payload (the header must match its own fields). */
function wellFormed(p: DvnSignaturePayload): boolean {
  if (typeof p !== 'object' || p === null) return false;
  if (!Number.isInteger(p.srcEid) || !Number.isInteger(p.dstEid)) return false;
  for (const s of [p.nonce, p.confirmations, p.expiration])
    if (typeof s !== 'string' || !UINT.test(s)) return false;
  for (const h of [p.guid, p.header, p.payloadHash, p.signature])
    if (typeof h !== 'string' || !HEX.test(h)) return false;
  if (p.header.length !== 2 + HEADER_LENGTH * 2 || p.payloadHash.length !== 66 || p.signature.length !== 132)
    return false;
  try {
    // Re-decode header + guid: checks version, eids, nonce and that the guid belongs to the header.
    const packet = decodePacket(`${p.header}${p.guid.slice(2)}` as Hex);
    return packet.srcEid === p.srcEid && packet.dstEid === p.dstEid && packet.nonce.toString() === p.nonce;
  } catch {
    return false;
  }
}
