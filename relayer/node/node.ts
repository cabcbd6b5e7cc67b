// `xmargin node`: one process that runs the roles its config enables. This file only wires the
// modules together — keys, store, metrics, gossip network, the attestor/executor service, the
// status API and dashboard — and registers each with the shutdown registry as it starts, so a
// failure half-way through start-up still stops whatever was already running.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Wallet } from 'ethers';
import { type AttestorService, createAttestorService } from '../../attestor/service.ts';
import { createApiServer, createNodeMetrics, type NodeMetrics } from '../api/index.ts';
import { ChainRpc } from '../chain/rpc.ts';
import { loadDevnetManifest, loadNetworks, readJsonFile } from '../config/load.ts';
import type { Address, ChainConfig, DvnConfig, Hex, NodeConfig, RpcLimits } from '../config/types.ts';
import { createHeartbeatSender, type HeartbeatSender, heartbeatSenders } from '../heartbeats/sender.ts';
import { installFastKeccak } from '../keys/fast-keccak.ts';
import { loadEvmKey, loadOrCreateP2pKey } from '../keys/index.ts';
import { secp256k1Backend } from '../keys/secp256k1.ts';
import { type CandidateSource, createLiquidator, type Liquidator, TxQueue } from '../liquidation/index.ts';
import type { Logger } from '../log.ts';
import { createCollector } from '../margin/collector.ts';
import { createMarginView } from '../margin/index.ts';
import { observedBlock } from '../margin/observation-parts.ts';
import { createObserver, type MarginObserver } from '../margin/observer.ts';
import {
  createGossipNetwork,
  type HeartbeatPayload,
  type Libp2pGossipNetwork,
  type ObservationMessage,
} from '../p2p/index.ts';
import { createRebalancer, type Rebalancer, rebalancerOptions } from '../rebalance/index.ts';
import { createRiskTracker } from '../risk/tracker.ts';
import { openStore } from '../store/index.ts';
import { createWeightProposer, type WeightProposer, weightProposerOptions } from '../weights/index.ts';
import { applyDeniedPeers } from './denied-peers.ts';
import { heartbeatPayload, sendsSourceHeartbeats } from './heartbeat-payload.ts';
import { heartbeatsStatus } from './heartbeats-status.ts';
import { livenessCutoff } from './liveness.ts';
import { accountStatuses, liquidationEntries, rebalanceEntries } from './margin-status.ts';
import { withPacketTiming } from './packet-timing.ts';
import { checkRpcLimits, rpcOptionsFor, withOwnRpcUrls } from './rpc-limits.ts';
import { createShutdownRegistry, type ShutdownRegistry } from './shutdown.ts';
import { createSolvencyWatch } from './solvency.ts';
import { chainSamples, createStatusProvider, directorySize } from './status.ts';
import { createNodeStores } from './stores.ts';
import { weightsStatus } from './weights-status.ts';

export const NODE_VERSION = '0.1.0';

/**
 * How often the time-critical followers poll eth_blockNumber: a liquidator's margin view on engine
 * chains (a new block, and the price it moved, reaches the tip screen within this, so the liquidation
 * makes the next block) and the attestor/executor followers (a confirmation is signed within this,
 * so the DVN quorum makes the destination's next block). The full poll stays at pollIntervalMs.
 */
const HEAD_POLL_MS = 100;

export interface NodeOptions {
  /** The node config, already validated (loadNodeConfig). */
  config: NodeConfig;
  /** Directory the config's relative paths are resolved against (the config file's directory). */
  baseDir: string;
  log: Logger;
  /** How long the first-ranked liquidator has before the next one takes over (default 15 s). */
  liquidationDeadlineMs?: number;
  /** Faster loops for tests and the devnet. */
  heartbeatMs?: number;
  pollIntervalMs?: number;
  gossipHeartbeatMs?: number;
  /** RPC limits for every chain (the `xmargin node` flags): above the config's. */
  rpc?: RpcLimits;
}

export interface RunningNode {
  readonly signer: Address;
  readonly peerId: string;
  readonly gossip: Libp2pGossipNetwork;
  readonly service: AttestorService;
  readonly chains: ChainConfig[];
  readonly metrics: NodeMetrics;
  /** The status API and dashboard, http://127.0.0.1:<apiPort>. */
  readonly apiUrl: string;
  /** EVM signers of the attestors seen alive (running the attestor role), this node included. */
  liveSigners(): Address[];
  /** Re-reads `<dataDir>/denied-peers.txt` (./denied-peers.ts); returns how many peers are denied. */
  reloadDeniedPeers(): Promise<number>;
  stop(): Promise<void>;
}

/** The chains and DVN set a node works with: from a networks file or a devnet manifest. */
export function loadNetworkView(file: string): { chains: ChainConfig[]; dvn: DvnConfig } {
  const raw = readJsonFile(file);
  if (typeof raw === 'object' && raw !== null && 'accounts' in raw) {
    const manifest = loadDevnetManifest(file);
    return { chains: manifest.chains, dvn: manifest.dvn };
  }
  const networks = loadNetworks(file);
  return { chains: networks.chains as ChainConfig[], dvn: networks.dvn };
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const { config, log } = options;
  const resolve = (p: string) => path.resolve(options.baseDir, p);
  const shutdown = createShutdownRegistry(log);
  await installFastKeccak();
  try {
    return await start(options, resolve, shutdown);
  } catch (error) {
    await shutdown.shutdown();
    throw error;
  } finally {
    log.debug({ roles: config.roles }, 'start-up finished');
  }
}

async function start(
  options: NodeOptions,
  resolve: (p: string) => string,
  shutdown: ShutdownRegistry,
): Promise<RunningNode> {
  const { config, log } = options;
  const startedAt = Date.now();
  const network = loadNetworkView(resolve(config.networksFile));
  checkRpcLimits(config);
  const chains = withOwnRpcUrls(selectChains(network.chains, config.chains, config.networksFile), config);
  const rpcOptions = (c: ChainConfig) => rpcOptionsFor(c.name, config, options.rpc);
  const heartbeatMs = options.heartbeatMs ?? 3_000;

  const wallet: Wallet = await loadEvmKey(resolve(config.evmKeyFile));
  const p2pKey = await loadOrCreateP2pKey(resolve(config.p2pKeyFile));

  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const storeDir = path.join(dataDir, 'db');
  const store = await openStore(storeDir);
  shutdown.add('store', () => store.close());
  const metrics = createNodeMetrics();
  const nodeStores = createNodeStores(store);
  const timing = withPacketTiming(nodeStores, metrics);
  const stores = { ...nodeStores, records: timing.records, journal: timing.journal };

  const attestors = new Set(network.dvn.signers.map((s) => s.toLowerCase() as Address));
  const lastHeartbeat = new Map<Address, number>();
  /** What each peer's last heartbeat said it runs: liquidator liveness is per role and chain. */
  const peerRoles = new Map<
    Address,
    { roles: readonly string[]; eids: Set<number>; sendsSourceHeartbeats: boolean; lastPacketSeen?: Hex }
  >();
  const self = wallet.address.toLowerCase() as Address;
  /**
   * Attestor-set signers seen alive that run `role` (this node included when it does). Ranking only
   * over nodes that run the role matters: a watcher holding an attestor key but not submitting would
   * otherwise rank first for some packets and hold their verification up by a whole deadline.
   */
  const liveSigners = (role: 'attestor' | 'executor'): Address[] => {
    const cutoff = livenessCutoff(Date.now(), heartbeatMs, role);
    const live = [...lastHeartbeat]
      .filter(([signer, at]) => at >= cutoff && (peerRoles.get(signer)?.roles.includes(role) ?? false))
      .map(([signer]) => signer);
    const me = config.roles.includes(role) ? [self] : [];
    return [...new Set([...me, ...live])].filter((s) => attestors.has(s));
  };
  const liveAttestors = (): Address[] => liveSigners('attestor');

  // The service is created before the gossip network starts publishing heartbeats, which read it.
  let service: AttestorService | undefined;
  const gossip = await createGossipNetwork({
    listen: config.listen,
    bootstrap: config.bootstrap,
    privateKey: p2pKey,
    evmWallet: wallet,
    allowedSigners: () => attestors,
    log: log.child({ module: 'p2p' }),
    metrics: metrics.gossipSink,
    heartbeat: {
      intervalMs: heartbeatMs,
      payload: () => heartbeatPayload(NODE_VERSION, config, chains, service),
    },
    ...(options.gossipHeartbeatMs === undefined ? {} : { gossipHeartbeatMs: options.gossipHeartbeatMs }),
  });
  shutdown.add('p2p', () => gossip.stop());
  const reloadDeniedPeers = () => applyDeniedPeers(dataDir, gossip, log.child({ module: 'p2p' }));
  await reloadDeniedPeers();
  gossip.subscribe<HeartbeatPayload>('heartbeat', (message) => {
    const signer = message.signer.toLowerCase() as Address;
    lastHeartbeat.set(signer, Date.now());
    peerRoles.set(signer, {
      roles: message.payload.roles,
      eids: new Set(message.payload.chains.map((c) => c.eid)),
      sendsSourceHeartbeats: message.payload.sendsSourceHeartbeats === true,
      ...(message.payload.lastPacketSeen === undefined
        ? {}
        : { lastPacketSeen: message.payload.lastPacketSeen }),
    });
  });
  /** Signers seen alive (this node included) that run `role` and serve the engine chain. */
  const liveWithRole =
    (role: 'liquidator' | 'rebalancer') =>
    (engineEid: number): Address[] => {
      const cutoff = livenessCutoff(Date.now(), heartbeatMs, role);
      const live = [...lastHeartbeat]
        .filter(([signer, at]) => {
          const said = peerRoles.get(signer);
          return at >= cutoff && said !== undefined && said.roles.includes(role) && said.eids.has(engineEid);
        })
        .map(([signer]) => signer);
      const me = config.roles.includes(role) && chains.some((c) => c.eid === engineEid) ? [self] : [];
      return [...new Set([...me, ...live])];
    };
  const liveLiquidators = liveWithRole('liquidator');

  const serviceLog = log.child({ module: 'attestor' });
  service = createAttestorService(
    {
      chains,
      dvn: network.dvn,
      roles: { attestor: config.roles.includes('attestor'), executor: config.roles.includes('executor') },
      // A node with no cursor yet reads its chains from genesis: on a devnet that is seconds of logs,
      // and it means a packet sent before the node started is not missed.
      startBlock: 0,
      rpc: rpcOptions,
      headPollMs: config.roles.includes('attestor') || config.roles.includes('executor') ? HEAD_POLL_MS : 0,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    },
    {
      wallet,
      gossip,
      liveSigners,
      ...stores,
      log: (msg, fields) => serviceLog.info(fields ?? {}, msg),
      onRefusal: (reason) => metrics.attestorRefusal(reason),
    },
  );
  await service.start();
  shutdown.add('attestor', () => service?.stop());

  // The unified margin view of every account: the chains this node serves from their RPC, the other
  // chains of the networks file from observations a quorum of attestors signed; and (liquidator
  // role) the coordinated liquidator that acts on what it finds unhealthy.
  const rpcs = new Map(chains.map((c) => [c.eid, new ChainRpc(c, rpcOptions(c))]));
  shutdown.add('rpc', () => {
    for (const rpc of rpcs.values()) rpc.destroy();
  });
  const observedChains = network.chains.filter((c) => !chains.some((s) => s.eid === c.eid));
  const margin = createMarginView({
    chains,
    observedChains,
    attestors: network.dvn,
    store,
    rpcFor: (c) => rpcs.get(c.eid) as ChainRpc,
    log: log.child({ module: 'margin' }),
    startBlock: 0,
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    headPollMs: config.roles.includes('liquidator') ? HEAD_POLL_MS : 0,
  });
  // Attestors publish an observation of every block the view applies on their chains: started before
  // the view, so the blocks of its first sync are published too.
  let observer: MarginObserver | undefined;
  if (config.roles.includes('attestor')) {
    observer = createObserver({
      view: margin,
      chains,
      gossip,
      wallet,
      getBlock: (eid, n) => (rpcs.get(eid) as ChainRpc).getBlock(n),
      log,
      peerEvents: (listener) => {
        gossip.libp2p.addEventListener('peer:disconnect', (e) => listener('disconnect', e.detail.toString()));
        // A peer's subscriptions arrive after its connection: what is published before is lost to it.
        gossip.libp2p.services.pubsub.addEventListener('subscription-change', (e) =>
          listener('subscribed', e.detail.peerId.toString()),
        );
      },
    });
    observer.start();
    shutdown.add('observer', () => observer?.stop());
  }

  await margin.start();
  shutdown.add('margin', () => margin.stop());
  // Every applied block: do the served vaults lock what the engines credit plus what is in flight?
  const solvency = createSolvencyWatch({
    view: margin,
    vaults: chains.map((chain) => ({
      chain,
      call: (tx: { to: Address; data: `0x${string}` }) => (rpcs.get(chain.eid) as ChainRpc).call(tx),
    })),
    registry: metrics.registry,
    log: log.child({ module: 'solvency' }),
  });
  shutdown.add('solvency', () => solvency.stop());
  // Predictive risk: EWMA volatility of the followed prices, VaR and breach probability per engine.
  const risk = createRiskTracker({
    prices: () => margin.prices(),
    store,
    log,
    ...(config.risk === undefined ? {} : { ewma: config.risk }),
  });
  await risk.start();
  shutdown.add('risk', () => risk.stop());

  // Every node collects observations of the chains it does not serve; attestors publish theirs.
  const collector = createCollector({
    view: margin,
    observed: observedChains.map((c) => c.eid),
    attestors: network.dvn,
    log,
    startBlock: 0,
  });
  const collectorLog = log.child({ module: 'collector' });
  gossip.subscribe<ObservationMessage>('observation', async (message) => {
    const r = await collector.receive(message.payload);
    if (r.outcome === 'rejected') {
      const { eid, number } = observedBlock(message.payload);
      collectorLog.warn(
        { from: message.signer, eid, block: number, reason: r.reason },
        'observation rejected',
      );
    }
  });
  // One transaction queue per chain for this node's key: the liquidator and the rebalancer share it,
  // so their transactions never take the same nonce.
  const txQueues = new Map<number, TxQueue>();
  const txQueueFor = (eid: number): TxQueue | undefined => {
    const chain = chains.find((c) => c.eid === eid);
    const rpc = rpcs.get(eid);
    if (chain === undefined || rpc === undefined) return undefined;
    let q = txQueues.get(eid);
    if (q === undefined) {
      q = new TxQueue(wallet, rpc, {
        chainId: chain.chainId,
        label: `${chain.name}/node`,
        confirmations: chain.confirmations,
      });
      txQueues.set(eid, q);
    }
    return q;
  };

  let liquidator: Liquidator | undefined;
  if (config.roles.includes('liquidator')) {
    const liqLog = log.child({ module: 'liquidator' });
    const candidates: CandidateSource = {
      unhealthy: (eid) => margin.unhealthy(eid),
      onChange: (cb) => {
        margin.onChange(() => cb());
      },
    };
    liquidator = createLiquidator({
      chains,
      wallet,
      gossip,
      store,
      candidates,
      liveLiquidators,
      rpcFor: (eid) => rpcs.get(eid),
      senderFor: (chain) => txQueueFor(chain.eid),
      onLanded: (seconds) => metrics.liquidation(seconds),
      log: (msg, fields) => liqLog.info(fields ?? {}, msg),
      ...(options.liquidationDeadlineMs === undefined
        ? {}
        : { options: { deadlineMs: options.liquidationDeadlineMs } }),
    });
    await liquidator.start();
    shutdown.add('liquidator', () => liquidator?.stop());
  }

  // Opt-in automated rebalancing: surplus credit moved, within the limits traders authorised on the
  // Rebalancer of the source engine, to an engine of theirs heading for maintenance margin.
  let rebalancer: Rebalancer | undefined;
  if (config.roles.includes('rebalancer')) {
    const rbLog = log.child({ module: 'rebalancer' });
    rebalancer = createRebalancer({
      chains,
      wallet,
      gossip,
      store,
      view: margin,
      risk: (e) => risk.engineRisk(e),
      liveRebalancers: liveWithRole('rebalancer'),
      rpcFor: (eid) => rpcs.get(eid),
      senderFor: txQueueFor,
      onRescued: (seconds) => metrics.rebalance(seconds),
      log: (msg, fields) => rbLog.info(fields ?? {}, msg),
      options: rebalancerOptions(config.rebalance),
    });
    await rebalancer.start();
    shutdown.add('rebalancer', () => rebalancer?.stop());
  }

  // Dynamic haircuts: attestors propose volatility-based weights to each served engine's
  // WeightGovernor, sign them and submit a quorum (relayer/weights). Opt-in with a `weights` section.
  let weights: WeightProposer | undefined;
  if (config.roles.includes('attestor') && config.weights !== undefined) {
    const wLog = log.child({ module: 'weights' });
    weights = createWeightProposer({
      chains,
      wallet,
      gossip,
      dvn: network.dvn,
      store,
      rpcFor: (eid) => rpcs.get(eid),
      senderFor: txQueueFor,
      liveSigners: liveAttestors,
      sigma: (key, horizonSec) => (risk.model().ready(key) ? risk.model().sigma(key, horizonSec) : undefined),
      onOutcome: (outcome) => metrics.weightUpdate(outcome),
      log: (msg, fields) => wLog.info(fields ?? {}, msg),
      options: weightProposerOptions(config.weights),
    });
    weights?.start();
    shutdown.add('weights', () => weights?.stop());
  }

  // Source-chain heartbeats (staleness-aware weights): each served vault tells every remote engine
  // that its chain is live; the first-ranked live attestor per (pathway, epoch) sends and pays.
  let heartbeats: HeartbeatSender | undefined;
  if (sendsSourceHeartbeats(config) && config.heartbeats !== undefined) {
    const hbLog = log.child({ module: 'heartbeats' });
    heartbeats = createHeartbeatSender({
      self: wallet.address.toLowerCase() as Address,
      pathways: chains.flatMap((src) =>
        network.chains
          .filter((dst) => dst.eid !== src.eid && dst.xmargin.engine !== undefined)
          .map((dst) => ({ vault: src.xmargin.vault, srcEid: src.eid, engineEid: dst.eid })),
      ),
      // Ranked over the live attestors that send heartbeats and serve the source chain: a node that
      // does not send (no `heartbeats` section) must not rank first and leave an epoch silent.
      liveSenders: (srcEid) =>
        heartbeatSenders(
          srcEid,
          lastHeartbeat,
          peerRoles,
          attestors,
          livenessCutoff(Date.now(), heartbeatMs, 'attestor'),
        ),
      rpcFor: (eid) => rpcs.get(eid),
      senderFor: txQueueFor,
      intervalMs: (config.heartbeats.intervalSec ?? 30) * 1000,
      onOutcome: (outcome) => metrics.heartbeat(outcome),
      log: (msg, fields) => hbLog.info(fields ?? {}, msg),
    });
    heartbeats.start();
    shutdown.add('heartbeats', () => heartbeats?.stop());
  }

  const followers = () => service?.followers ?? [];
  const rpcTrouble = () => (service?.rpcs ?? []).map((r) => r.trouble());
  const status = createStatusProvider({
    version: NODE_VERSION,
    signer: wallet.address,
    peerId: gossip.peerId,
    roles: config.roles,
    startedAt,
    chains,
    followers,
    rpcTrouble,
    peers: () => knownPeers(gossip),
    peerScore: (peerId) => gossip.peerScore(peerId),
    boundSigner: (peerId) => gossip.boundSigner(peerId),
    peerLastPacket: (signer) => peerRoles.get(signer.toLowerCase() as Address)?.lastPacketSeen,
    peerRejections: (peerId) => gossip.peerRejections(peerId),
    refusals: () => service?.refusals(),
    records: stores.records,
    journal: stores.journal,
    packetCounts: timing.counts,
    accounts: () => accountStatuses(margin, network.chains, (e) => risk.engineRisk(e)),
    observed: () => {
      const stats = collector.stats();
      return observedChains.map((c) => ({
        chain: c.name,
        eid: c.eid,
        block: margin.cursor(c.eid),
        buffered: stats[c.eid]?.buffered ?? 0,
        applied: stats[c.eid]?.applied ?? 0,
        conflicts: stats[c.eid]?.conflicts ?? 0,
      }));
    },
    solvency: () => solvency.status(),
    liquidations: async () => liquidationEntries((await liquidator?.journal()) ?? [], chains),
    ...(rebalancer === undefined
      ? {}
      : { rebalances: async () => rebalanceEntries((await rebalancer?.journal()) ?? [], network.chains) }),
    ...(weights === undefined ? {} : { weights: () => weightsStatus(weights as WeightProposer) }),
    heartbeats: () => heartbeatsStatus(margin.heard(), network.chains, heartbeats?.stats()),
  });
  metrics.bindSources({
    chains: () => chainSamples({ chains, followers, rpcTrouble }),
    peers: () => connectedPeers(gossip).length,
    storeSizeBytes: () => directorySize(storeDir),
  });
  // Loopback unless the config's apiHost opens it: the status names signers, peers and accounts.
  const api = createApiServer({
    port: config.apiPort,
    host: config.apiHost ?? '127.0.0.1',
    status,
    metrics: metrics.registry,
    log: log.child({ module: 'api' }),
  });
  const apiUrl = await api.start();
  shutdown.add('api', () => api.stop());

  log.info(
    {
      signer: wallet.address,
      peerId: gossip.peerId,
      addrs: gossip.multiaddrs(),
      chains: chains.map((c) => c.name),
      dashboard: `${apiUrl}/`,
      // 'wasm' where the native addon has no prebuilt binary: every gossip message costs ~5x the CPU.
      secp256k1: secp256k1Backend,
    },
    `node started; dashboard at ${apiUrl}/`,
  );
  const running = service;
  return {
    signer: wallet.address as Address,
    peerId: gossip.peerId,
    gossip,
    service: running,
    chains,
    metrics,
    apiUrl,
    liveSigners: liveAttestors,
    reloadDeniedPeers,
    stop: () => shutdown.shutdown(),
  };
}

/** Open libp2p connections grouped by peer (a peer may hold several). */
function connectedPeers(gossip: Libp2pGossipNetwork): { peerId: string; addrs: string[] }[] {
  const byPeer = new Map<string, string[]>();
  for (const connection of gossip.libp2p.getConnections()) {
    const peerId = connection.remotePeer.toString();
    byPeer.set(peerId, [...(byPeer.get(peerId) ?? []), connection.remoteAddr.toString()]);
  }
  return [...byPeer].map(([peerId, addrs]) => ({ peerId, addrs }));
}

/** The connected peers, then the ones this node banned (graylisted) and no longer talks to. */
function knownPeers(
  gossip: Libp2pGossipNetwork,
): { peerId: string; addrs: string[]; bannedUntil?: number }[] {
  const connected = connectedPeers(gossip);
  const open = new Set(connected.map((p) => p.peerId));
  const banned = gossip
    .bannedPeers()
    .filter((b) => !open.has(b.peerId))
    .map((b) => ({ peerId: b.peerId, addrs: [], bannedUntil: b.until }));
  return [...connected, ...banned];
}

function selectChains(all: ChainConfig[], names: string[], file: string): ChainConfig[] {
  return names.map((name) => {
    const chain = all.find((c) => c.name === name);
    if (chain === undefined) {
      const known = all.map((c) => c.name).join(', ');
      throw new Error(
        `${file}: no chain named "${name}" (the node config's "chains"); known chains: ${known}`,
      );
    }
    return chain;
  });
}
