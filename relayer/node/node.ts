// `xmargin node`: one process that runs the roles its config enables. This file only wires the
// modules together — keys, store, gossip network, the attestor/executor service — and registers
// each with the shutdown registry as it starts, so a failure half-way through start-up still stops
// whatever was already running.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Wallet } from 'ethers';
import { type AttestorService, createAttestorService } from '../../attestor/service.ts';
import { loadDevnetManifest, loadNetworks, readJsonFile } from '../config/load.ts';
import type { Address, ChainConfig, DvnConfig, NodeConfig } from '../config/types.ts';
import { loadEvmKey, loadOrCreateP2pKey } from '../keys/index.ts';
import type { Logger } from '../log.ts';
import { createGossipNetwork, type HeartbeatPayload, type Libp2pGossipNetwork } from '../p2p/index.ts';
import { openStore } from '../store/index.ts';
import { createShutdownRegistry, type ShutdownRegistry } from './shutdown.ts';
import { createNodeStores } from './stores.ts';

export const NODE_VERSION = '0.1.0';

/** A peer counts as live while its heartbeats keep arriving within this many intervals. */
const LIVENESS_INTERVALS = 3;

export interface NodeOptions {
  /** The node config, already validated (loadNodeConfig). */
  config: NodeConfig;
  /** Directory the config's relative paths are resolved against (the config file's directory). */
  baseDir: string;
  log: Logger;
  /** Faster loops for tests and the devnet. */
  heartbeatMs?: number;
  pollIntervalMs?: number;
  gossipHeartbeatMs?: number;
}

export interface RunningNode {
  readonly signer: Address;
  readonly peerId: string;
  readonly gossip: Libp2pGossipNetwork;
  readonly service: AttestorService;
  readonly chains: ChainConfig[];
  /** EVM signers of the attestors seen alive, this node included. */
  liveSigners(): Address[];
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
  const network = loadNetworkView(resolve(config.networksFile));
  const chains = selectChains(network.chains, config.chains, config.networksFile);
  const heartbeatMs = options.heartbeatMs ?? 3_000;

  const wallet: Wallet = await loadEvmKey(resolve(config.evmKeyFile));
  const p2pKey = await loadOrCreateP2pKey(resolve(config.p2pKeyFile));

  const dataDir = resolve(config.dataDir);
  await mkdir(dataDir, { recursive: true });
  const store = await openStore(path.join(dataDir, 'db'));
  shutdown.add('store', () => store.close());
  const stores = createNodeStores(store);

  const attestors = new Set(network.dvn.signers.map((s) => s.toLowerCase() as Address));
  const lastHeartbeat = new Map<Address, number>();
  const self = wallet.address.toLowerCase() as Address;
  const liveSigners = (): Address[] => {
    const cutoff = Date.now() - LIVENESS_INTERVALS * heartbeatMs;
    const live = [...lastHeartbeat].filter(([, at]) => at >= cutoff).map(([signer]) => signer);
    return [...new Set([self, ...live])].filter((s) => attestors.has(s));
  };

  // The service is created before the gossip network starts publishing heartbeats, which read it.
  let service: AttestorService | undefined;
  const gossip = await createGossipNetwork({
    listen: config.listen,
    bootstrap: config.bootstrap,
    privateKey: p2pKey,
    evmWallet: wallet,
    allowedSigners: () => attestors,
    log: log.child({ module: 'p2p' }),
    heartbeat: { intervalMs: heartbeatMs, payload: () => heartbeatPayload(config, chains, service) },
    ...(options.gossipHeartbeatMs === undefined ? {} : { gossipHeartbeatMs: options.gossipHeartbeatMs }),
  });
  shutdown.add('p2p', () => gossip.stop());
  gossip.subscribe<HeartbeatPayload>('heartbeat', (message) => {
    lastHeartbeat.set(message.signer.toLowerCase() as Address, Date.now());
  });

  const serviceLog = log.child({ module: 'attestor' });
  service = createAttestorService(
    {
      chains,
      dvn: network.dvn,
      roles: { attestor: config.roles.includes('attestor'), executor: config.roles.includes('executor') },
      // A node with no cursor yet reads its chains from genesis: on a devnet that is seconds of logs,
      // and it means a packet sent before the node started is not missed.
      startBlock: 0,
      ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
    },
    {
      wallet,
      gossip,
      liveSigners,
      ...stores,
      log: (msg, fields) => serviceLog.info(fields ?? {}, msg),
    },
  );
  await service.start();
  shutdown.add('attestor', () => service?.stop());

  log.info(
    {
      signer: wallet.address,
      peerId: gossip.peerId,
      addrs: gossip.multiaddrs(),
      chains: chains.map((c) => c.name),
    },
    'node started',
  );
  const running = service;
  return {
    signer: wallet.address as Address,
    peerId: gossip.peerId,
    gossip,
    service: running,
    chains,
    liveSigners,
    stop: () => shutdown.shutdown(),
  };
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

function heartbeatPayload(
  config: NodeConfig,
  chains: ChainConfig[],
  service: AttestorService | undefined,
): HeartbeatPayload {
  return {
    version: NODE_VERSION,
    roles: config.roles,
    chains: chains.map((chain, i) => {
      const tip = service?.followers[i]?.tip;
      return { eid: chain.eid, head: BigInt(tip?.number ?? 0), lag: 0 };
    }),
  };
}
