// The executor role: delivers packets assigned to the xmargin Executor once they are committed on
// the destination, by calling EndpointV2.lzReceive(origin, receiver, guid, message, extraData)
// with the gas and value of the packet's lzReceive option. Success is PacketDelivered; a revert is
// recorded as {guid, reason} in the journal and retried with backoff. Which live node delivers is
// decided by the same rendezvous ranking as DVN submission, and each attempt first asks the chain
// whether the nonce is already delivered. A delivery that runs out of gas is retried with a doubled gas
// limit (journaled as the record's `gasLimit`, up to `maxGasLimit`; see ./retry-gas.ts). Packets are
// delivered in whatever order they become deliverable: xmargin's OApps keep the endpoint's default
// unordered nonces, so a later packet never waits for a failed earlier one.

import type { Wallet } from 'ethers';
import type { FollowerEvent } from '../relayer/chain/follower.ts';
import type { Address, Hex } from '../relayer/config/types.ts';
import { coalesce } from '../relayer/liquidation/ticker.ts';
import type { BatchOp } from '../relayer/store/controller.ts';
import { ENDPOINT, TOPIC } from './abi.ts';
import type { LzChain } from './lz.ts';
import { lzReceiveOption } from './options.ts';
import { parsePacketJobs } from './packets.ts';
import { rendezvousRank } from './rendezvous.ts';
import { deliveryGasLimit, raisedGasLimit, ranOutOfGas } from './retry-gas.ts';
import type { DeliveryRecord, PacketJournal } from './stores.ts';

export interface ExecutorOptions {
  fallbackDelayMs?: number;
  /** First retry delay after a failed attempt; doubles per attempt up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Gas on top of the OApp's lzReceive gas (and its 64th share), for the transaction's base, its calldata
   *  and the endpoint's own work around the call. */
  endpointOverheadGas?: bigint;
  /** Ceiling of the gas limit after out-of-gas retries (each doubles the last one). */
  maxGasLimit?: bigint;
  tickMs?: number;
  /** Without a PacketVerified event, the chain is polled for a waiting packet this often. */
  pollMs?: number;
}

export interface ExecutorModules {
  wallet: Wallet;
  chains: Map<number, LzChain>;
  /** Live nodes running the executor role (EVM addresses). */
  liveExecutors: () => Address[];
  journal: PacketJournal;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
/** How a journaled failure says the attempt ran out of gas. */
const OUT_OF_GAS = 'out of gas';

export class Executor {
  private readonly opts: Required<ExecutorOptions>;
  private readonly m: ExecutorModules;
  /** guid -> ms when this node learned it is committed (PacketVerified seen or read on chain). */
  private readonly verifiedAt = new Map<Hex, number>();
  private readonly lastPoll = new Map<Hex, number>();
  private readonly busy = new Set<Hex>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(options: ExecutorOptions, modules: ExecutorModules) {
    this.opts = {
      fallbackDelayMs: 15_000,
      backoffMs: 2_000,
      maxBackoffMs: 120_000,
      // 56k measured for a LOCK's delivery (bench/gas.ts: the tx less the OApp's frame), with margin for
      // longer messages. It was 150k, which handed every receiver ~95k of gas no option paid for.
      endpointOverheadGas: 70_000n,
      maxGasLimit: 5_000_000n,
      tickMs: 500,
      pollMs: 5_000,
      ...options,
    };
    this.m = modules;
  }

  private now(): number {
    return this.m.now?.() ?? Date.now();
  }

  start(): void {
    this.stopped = false;
    const loop = async (): Promise<void> => {
      if (this.stopped) return;
      this.kick();
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
   * Follower events of any served chain. For a confirmed block, returns the writes of the deliveries
   * it owes from then on: the follower commits them with its cursor (one batch per block).
   */
  async onChainEvent(event: FollowerEvent): Promise<BatchOp[]> {
    const chain = [...this.m.chains.values()].find((c) => c.config.name === event.chain);
    if (chain === undefined || event.type === 'reorg') return [];
    if (event.type === 'confirmed') {
      const writes: BatchOp[] = [];
      // Source side: packets this Executor was paid for, going to a chain we serve.
      for (const job of parsePacketJobs(event.logs, chain.config.layerZero).jobs) {
        if (!job.executorAssigned || !this.m.chains.has(job.packet.dstEid)) continue;
        if ((await this.m.journal.get(job.packet.guid)) !== undefined) continue;
        let gas: bigint;
        let value: bigint;
        try {
          ({ gas, value } = lzReceiveOption(job.options));
        } catch (err) {
          this.m.log?.('packet without usable lzReceive option', { guid: job.packet.guid, err: String(err) });
          continue;
        }
        const { packet } = job;
        writes.push(
          this.m.journal.putOp({
            guid: packet.guid,
            srcEid: packet.srcEid,
            dstEid: packet.dstEid,
            sender: packet.sender,
            nonce: packet.nonce,
            receiver: packet.receiver,
            message: packet.message,
            payloadHash: packet.payloadHash,
            gas,
            value,
            state: 'waiting',
            attempts: 0,
            nextAttemptAt: 0,
            failures: [],
          }),
        );
      }
      return writes;
    }
    // Destination side: PacketVerified wakes the matching delivery at once (no polling delay).
    const verified = event.logs.filter(
      (l) => l.topics[0] === TOPIC.PacketVerified && same(l.address, chain.config.layerZero.endpointV2),
    );
    if (verified.length === 0) return [];
    const open = await this.m.journal.open();
    for (const log of verified) {
      const ev = ENDPOINT.decodeEventLog('PacketVerified', log.data, log.topics);
      const origin = ev.origin as unknown as { srcEid: bigint; sender: string; nonce: bigint };
      const match = open.find(
        (r) =>
          r.dstEid === chain.config.eid &&
          BigInt(r.srcEid) === origin.srcEid &&
          same(r.sender, origin.sender) &&
          r.nonce === origin.nonce &&
          same(r.receiver, ev.receiver as string),
      );
      if (match !== undefined && !this.verifiedAt.has(match.guid))
        this.verifiedAt.set(match.guid, this.now());
    }
    // Deliver now rather than on the next tick. A packet of the same pathway that waited for this
    // nonce (LZ_InvalidNonce) is retried at once too; one that ran out of gas is not (another packet's
    // verification changes nothing for it), it keeps its backoff.
    for (const r of open) {
      if (
        r.dstEid === chain.config.eid &&
        r.attempts > 0 &&
        r.nextAttemptAt > this.now() &&
        r.failures.at(-1)?.reason.startsWith(OUT_OF_GAS) !== true
      )
        this.retryNow.add(r.guid);
    }
    this.kick();
    return [];
  }

  private readonly retryNow = new Set<Hex>();
  /** Ticks never overlap: a kick during one runs one more right after it. */
  private readonly coalescedTick = coalesce(
    () => this.tick().catch((err: unknown) => this.m.log?.('executor tick failed', { err: String(err) })),
    () => this.stopped,
  );
  private ticking: Promise<void> | undefined;
  /** Runs a tick now, or once more right after the running one. */
  private kick(): void {
    this.ticking = this.coalescedTick();
  }

  async tick(): Promise<void> {
    const running: Promise<void>[] = [];
    for (const record of await this.m.journal.open()) {
      if (this.busy.has(record.guid)) continue;
      if (this.now() < record.nextAttemptAt && !this.retryNow.delete(record.guid)) continue;
      this.busy.add(record.guid);
      // Deliveries run concurrently: several can land in one block.
      running.push(
        this.consider(record)
          .catch((err: unknown) => this.fail(record, err instanceof Error ? err.message : String(err)))
          .finally(() => this.busy.delete(record.guid)),
      );
    }
    await Promise.all(running);
  }

  /**
   * Delivered: the endpoint passed this nonce AND no longer holds its payload hash (a later nonce
   * delivered first moves lazyInboundNonce past ours while ours stays deliverable). Then the record
   * is closed.
   */
  private async closeIfDelivered(dst: LzChain, record: DeliveryRecord): Promise<boolean> {
    if ((await dst.lazyInboundNonce(record)) < record.nonce || (await dst.holdsPayload(record))) return false;
    await this.m.journal.put({ ...record, state: 'delivered' });
    this.verifiedAt.delete(record.guid);
    return true;
  }

  private async consider(record: DeliveryRecord): Promise<void> {
    const dst = this.m.chains.get(record.dstEid) as LzChain;
    let since = this.verifiedAt.get(record.guid);
    if (since === undefined) {
      const last = this.lastPoll.get(record.guid) ?? 0;
      if (this.now() - last < this.opts.pollMs) return;
      this.lastPoll.set(record.guid, this.now());
      if (!(await dst.committed({ ...record, header: '0x' }))) return;
      since = this.now();
      this.verifiedAt.set(record.guid, since);
    }
    const rank = rendezvousRank(record.guid, this.m.wallet.address as Address, this.m.liveExecutors());
    if (this.now() < since + rank * this.opts.fallbackDelayMs) {
      // Not our turn (yet): close the record once the chain shows another executor delivered (asked
      // every pollMs), rather than at our deadline, so the journal and /status agree with the chain.
      const last = this.lastPoll.get(record.guid) ?? 0;
      if (this.now() - last < this.opts.pollMs) return;
      this.lastPoll.set(record.guid, this.now());
      await this.closeIfDelivered(dst, record);
      return;
    }
    if (await this.closeIfDelivered(dst, record)) return;
    const tx = { to: dst.config.layerZero.endpointV2, data: dst.lzReceiveData(record), value: record.value };
    // Simulate first: a revert then costs nothing and its reason is readable.
    await dst.rpc.call({ ...tx, from: this.m.wallet.address as Address });
    const gasLimit = record.gasLimit ?? deliveryGasLimit(record.gas, this.opts.endpointOverheadGas);
    let receipt: Awaited<ReturnType<typeof dst.rpc.sendTransaction>>;
    try {
      receipt = await dst.rpc.sendTransaction(this.m.wallet, { ...tx, gasLimit });
    } catch (err) {
      const raised = ranOutOfGas(err, gasLimit) ? raisedGasLimit(gasLimit, this.opts.maxGasLimit) : undefined;
      if (raised === undefined) throw err;
      // The simulation passed (eth_call has the block's gas), the transaction did not: the receiver
      // needs more than the packet's option paid for. Journal the higher limit with the failure.
      this.m.log?.('delivery ran out of gas; retrying with more', {
        guid: record.guid,
        gasLimit,
        next: raised,
      });
      await this.fail({ ...record, gasLimit: raised }, `${OUT_OF_GAS} at gas limit ${gasLimit}`);
      return;
    }
    if (!dst.hasPacketDelivered(receipt))
      throw new Error(`lzReceive ${receipt.hash} did not emit PacketDelivered`);
    this.m.log?.('delivered', { guid: record.guid, tx: receipt.hash });
    await this.m.journal.put({ ...record, state: 'delivered', attempts: record.attempts + 1 });
    this.verifiedAt.delete(record.guid);
  }

  private async fail(record: DeliveryRecord, reason: string): Promise<void> {
    const attempts = record.attempts + 1;
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (attempts - 1));
    this.m.log?.('delivery failed', { guid: record.guid, reason });
    await this.m.journal.put({
      ...record,
      attempts,
      nextAttemptAt: this.now() + delay,
      failures: [...record.failures.slice(-9), { at: this.now(), reason }],
    });
  }
}
