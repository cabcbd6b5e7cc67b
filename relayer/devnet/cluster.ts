// A cluster of real `xmargin node` processes (for `npm start`, benchmarks and e2e tests): one child process per node, each with its
// own data dir, keys (the devnet's attestor keys), loopback port and config file, bootstrapped to the
// others. Nodes can be stopped and started again on the same data dir (restart tests); stopAll()
// leaves no process behind.

import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { freePort } from '../chain/anvil.ts';
import type {
  DevnetManifest,
  NodeConfig,
  NodeRole,
  RebalanceConfig,
  RiskConfig,
  WeightsConfig,
} from '../config/types.ts';
import { createP2pKey } from '../keys/index.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
const MAIN = path.join(ROOT, 'relayer', 'cli', 'main.ts');

export interface ClusterNode {
  index: number;
  dir: string;
  configFile: string;
  logFile: string;
  signer: string;
  peerId: string;
  /** The node's status API and dashboard (127.0.0.1). */
  apiUrl: string;
  process: ChildProcess | undefined;
}

export interface Cluster {
  nodes: ClusterNode[];
  start(index: number): Promise<void>;
  /** SIGTERM (or SIGKILL with `kill: true`) and wait for the process to exit. */
  stop(index: number, options?: { kill?: boolean }): Promise<void>;
  stopAll(): Promise<void>;
}

export interface ClusterOptions {
  manifest: DevnetManifest;
  manifestFile: string;
  /** Working directory for data dirs, keys, configs and logs. */
  dir: string;
  /** How many nodes (default: one per attestor key). */
  count?: number;
  roles?: NodeRole[];
  /**
   * Per-node overrides, by index: the chains it serves (names; default every manifest chain — the
   * others it then follows through observations), its roles (default `roles`) and the networks file
   * it reads (default `manifestFile`; e.g. other RPC URLs for one node).
   */
  nodes?: ({ chains?: string[]; roles?: NodeRole[]; networksFile?: string } | undefined)[];
  /** The rebalancer role's policy, written into every node's config. */
  rebalance?: RebalanceConfig;
  /** Extra `xmargin node` flags for every node (e.g. --rpc-timeout). */
  nodeArgs?: string[];
  /** The risk tracker's sampling and the weight proposals, written into every node's config. */
  risk?: RiskConfig;
  weights?: WeightsConfig;
  /** Source-chain heartbeats (staleness-aware weights), written into every node's config. */
  heartbeats?: { intervalSec?: number };
}

export async function createCluster(options: ClusterOptions): Promise<Cluster> {
  const attestors = options.manifest.accounts.filter((a) => a.role === 'attestor');
  const count = options.count ?? attestors.length;
  const prepared: { node: ClusterNode; port: number; apiPort: number }[] = [];
  for (let i = 0; i < count; i++) {
    const account = attestors[i];
    if (account === undefined) throw new Error(`cluster: node ${i} has no attestor key in the manifest`);
    const dir = path.join(options.dir, `node-${i + 1}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'evm.key'), `${account.privateKey}\n`, { mode: 0o600 });
    const p2p = await createP2pKey(path.join(dir, 'p2p.key'));
    const apiPort = await freePort();
    prepared.push({
      port: await freePort(),
      apiPort,
      node: {
        apiUrl: `http://127.0.0.1:${apiPort}`,
        index: i,
        dir,
        configFile: path.join(dir, 'node.json'),
        logFile: path.join(dir, 'node.log'),
        signer: account.address,
        peerId: peerIdFromPrivateKey(p2p).toString(),
        process: undefined,
      },
    });
  }
  for (const { node, port, apiPort } of prepared) {
    const override = options.nodes?.[node.index];
    const config: NodeConfig = {
      dataDir: 'data',
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
      bootstrap: prepared
        .filter((p) => p.node !== node)
        .map((p) => `/ip4/127.0.0.1/tcp/${p.port}/p2p/${p.node.peerId}`),
      evmKeyFile: 'evm.key',
      p2pKeyFile: 'p2p.key',
      roles: override?.roles ?? options.roles ?? ['attestor', 'executor'],
      chains: override?.chains ?? options.manifest.chains.map((c) => c.name),
      networksFile: override?.networksFile ?? options.manifestFile,
      apiPort,
      ...(options.rebalance === undefined ? {} : { rebalance: options.rebalance }),
      ...(options.risk === undefined ? {} : { risk: options.risk }),
      ...(options.weights === undefined ? {} : { weights: options.weights }),
      ...(options.heartbeats === undefined ? {} : { heartbeats: options.heartbeats }),
    };
    await writeFile(node.configFile, `${JSON.stringify(config, null, 2)}\n`);
  }
  const nodes = prepared.map((p) => p.node);

  const start = async (index: number): Promise<void> => {
    const node = nodes[index];
    if (node === undefined) throw new Error(`cluster: no node ${index}`);
    if (node.process !== undefined) return;
    const log = createWriteStream(node.logFile, { flags: 'a' });
    // Fast loops: 250 ms chain polling and 1 s heartbeats keep cross-chain legs to a few seconds.
    const args = [
      MAIN,
      'node',
      '--config',
      node.configFile,
      '--log-level',
      'debug',
      '--poll-interval',
      '250',
      '--heartbeat-interval',
      '1000',
      ...(options.nodeArgs ?? []),
    ];
    const child = spawn(NODE_BIN, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    node.process = child;
    child.once('exit', () => {
      if (node.process === child) node.process = undefined;
    });
  };

  const stop = async (index: number, opts: { kill?: boolean } = {}): Promise<void> => {
    const child = nodes[index]?.process;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(opts.kill === true ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  return {
    nodes,
    start,
    stop,
    async stopAll() {
      await Promise.all(nodes.map((n) => stop(n.index)));
    },
  };
}
