// Wires the attestor and executor roles of one node: a ChainRpc, an LzChain view and a block
// follower per served chain, the follower events fanned out to both roles. What both roles observe
// in a confirmed block (packets to sign, deliveries owed) is committed with the follower's cursor in
// one batch (packetObservation). start() first checks that every RPC serves the configured chain id
// and every EndpointV2 has the configured eid; stop() stops everything in reverse order of starting.

import type { Wallet } from 'ethers';
import { checkEndpointEid } from '../relayer/chain/endpoint-eid.ts';
import { BlockFollower, type CursorStore, type FollowerEvent } from '../relayer/chain/follower.ts';
import { type ChainLog, ChainRpc, type RpcOptions } from '../relayer/chain/rpc.ts';
import type { Address, ChainConfig, DvnConfig, Hex } from '../relayer/config/types.ts';
import type { GossipNetwork } from '../relayer/p2p/types.ts';
import type { BatchOp } from '../relayer/store/controller.ts';
import { TOPIC } from './abi.ts';
import { Attestor, type AttestorOptions } from './attestor.ts';
import { Executor, type ExecutorOptions } from './executor.ts';
import { LzChain } from './lz.ts';
import { parsePacketJobs } from './packets.ts';
import type { RefusalReason, RefusalsSnapshot } from './refusals.ts';
import type { AttestStore, PacketJournal, SignatureStore, SignQueue } from './stores.ts';

export interface AttestorServiceOptions {
  chains: ChainConfig[];
  dvn: DvnConfig;
  roles: { attestor: boolean; executor: boolean };
  /** The same for every chain, or per chain (the node's configured limits). */
  rpc?: RpcOptions | ((chain: ChainConfig) => RpcOptions);
  pollIntervalMs?: number;
  /** The followers' head poll (BlockFollower's headPollMs): how soon a confirmation is acted on. */
  headPollMs?: number;
  /** Where a follower with no stored cursor starts (default: the chain's head). */
  startBlock?: number;
  attestor?: Omit<AttestorOptions, 'dvn'>;
  executor?: ExecutorOptions;
}

export interface AttestorServiceModules {
  wallet: Wallet;
  gossip: GossipNetwork;
  /** Live attestor-set signers running `role` (the submitter and executor rankings are over these). */
  liveSigners: (role: 'attestor' | 'executor') => Address[];
  cursors: CursorStore<BatchOp>;
  signatures: SignatureStore;
  records: AttestStore;
  journal: PacketJournal;
  queue: SignQueue;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Every packet the attestor refuses to sign (for the node's metrics). */
  onRefusal?: (reason: RefusalReason) => void;
}

export interface AttestorService {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly followers: BlockFollower<BatchOp>[];
  /** Index-aligned with `followers`: the RPC each one reads through. */
  readonly rpcs: ChainRpc[];
  /** What the attestor refused to sign; undefined when the node does not run the attestor role. */
  refusals(): RefusalsSnapshot | undefined;
  /** Guid of the latest PacketSent this node's followers confirmed (any served chain), for heartbeats. */
  lastPacketSeen(): Hex | undefined;
}

export function createAttestorService(
  opts: AttestorServiceOptions,
  m: AttestorServiceModules,
): AttestorService {
  const rpcOptions = opts.rpc;
  const rpcs = opts.chains.map(
    (c) => new ChainRpc(c, typeof rpcOptions === 'function' ? rpcOptions(c) : rpcOptions),
  );
  const chains = new Map(opts.chains.map((c, i) => [c.eid, new LzChain(c, rpcs[i] as ChainRpc)]));
  const log = m.log;
  const attestor = opts.roles.attestor
    ? new Attestor(
        { ...opts.attestor, dvn: opts.dvn },
        {
          wallet: m.wallet,
          gossip: m.gossip,
          chains,
          liveSigners: () => m.liveSigners('attestor'),
          signatures: m.signatures,
          records: m.records,
          queue: m.queue,
          ...(log === undefined ? {} : { log }),
          ...(m.onRefusal === undefined ? {} : { onRefusal: m.onRefusal }),
        },
      )
    : undefined;
  const executor = opts.roles.executor
    ? new Executor(opts.executor ?? {}, {
        wallet: m.wallet,
        chains,
        liveExecutors: () => m.liveSigners('executor'),
        journal: m.journal,
        ...(log === undefined ? {} : { log }),
      })
    : undefined;
  const byName = new Map(opts.chains.map((c) => [c.name, c]));
  let lastPacketSeen: Hex | undefined;
  const observation = packetObservation({ attestor, executor }, m.cursors);
  const onEvent = async (event: FollowerEvent): Promise<BatchOp[]> => {
    const writes = await observation.onEvent(event);
    if (event.type === 'confirmed') {
      const chain = byName.get(event.chain);
      if (chain !== undefined) lastPacketSeen = lastPacketIn(event.logs, chain) ?? lastPacketSeen;
    }
    return writes;
  };
  const followers = opts.chains.map(
    (c, i) =>
      new BlockFollower(
        {
          chain: c.name,
          confirmations: c.confirmations,
          // The source side (PacketSent and its fee logs) and the destination side (PacketVerified,
          // PacketDelivered) of every pathway through this chain, in one filter.
          filter: {
            address: [c.layerZero.endpointV2, c.layerZero.sendUln302],
            topics: [
              [
                TOPIC.PacketSent,
                TOPIC.DVNFeePaid,
                TOPIC.ExecutorFeePaid,
                TOPIC.PacketVerified,
                TOPIC.PacketDelivered,
              ],
            ],
          },
          ...(opts.pollIntervalMs === undefined ? {} : { pollIntervalMs: opts.pollIntervalMs }),
          ...(opts.headPollMs === undefined ? {} : { headPollMs: opts.headPollMs }),
          ...(opts.startBlock === undefined ? {} : { startBlock: opts.startBlock }),
        },
        { rpc: rpcs[i] as ChainRpc, cursors: observation.cursors, onEvent },
      ),
  );
  return {
    followers,
    rpcs,
    refusals: () => attestor?.refusals(),
    lastPacketSeen: () => lastPacketSeen,
    async start() {
      for (const rpc of rpcs) await rpc.checkChainIds();
      for (const [i, chain] of opts.chains.entries()) await checkEndpointEid(chain, rpcs[i] as ChainRpc);
      await attestor?.start();
      executor?.start();
      for (const f of followers) f.start();
    },
    async stop() {
      for (const f of [...followers].reverse()) await f.stop();
      executor?.stop();
      attestor?.stop();
      for (const rpc of rpcs) rpc.destroy();
    },
  };
}

/** Guid of the last PacketSent among one confirmed block's logs (undefined when it holds none). */
export function lastPacketIn(logs: readonly ChainLog[], chain: ChainConfig): Hex | undefined {
  // Most blocks carry no packet: skip the decoding then.
  if (!logs.some((l) => l.topics[0] === TOPIC.PacketSent)) return undefined;
  const jobs = parsePacketJobs(logs, chain.layerZero).jobs;
  const last = jobs.reduce<(typeof jobs)[number] | undefined>(
    (a, j) => (a === undefined || j.logIndex > a.logIndex ? j : a),
    undefined,
  );
  return last?.packet.guid;
}

/**
 * The followers' handler and cursor store for both roles: a confirmed block's queued packets
 * (attestor) and deliveries owed (executor) are handed back as batch ops and written with the
 * cursor, in one batch; once it is written, the attestor may sign what it queued.
 */
export function packetObservation(
  roles: { attestor: Attestor | undefined; executor: Executor | undefined },
  cursors: CursorStore<BatchOp>,
): { onEvent: (event: FollowerEvent) => Promise<BatchOp[]>; cursors: CursorStore<BatchOp> } {
  const { attestor, executor } = roles;
  return {
    async onEvent(event) {
      const writes = (await attestor?.onChainEvent(event)) ?? [];
      writes.push(...((await executor?.onChainEvent(event)) ?? []));
      return writes;
    },
    cursors: {
      get: (chain) => cursors.get(chain),
      async set(chain, cursor, writes) {
        await cursors.set(chain, cursor, writes);
        await attestor?.committed(chain, cursor.number);
      },
    },
  };
}
