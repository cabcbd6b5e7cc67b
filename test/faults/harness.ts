// Shared harness of the fault suite: a devnet with real `xmargin node` processes, the trader's
// deposits A -> engine B, waits, the one-line result (`FAULT <name>: <ok|FAIL> — <figure>`), and the
// end-of-scenario check of the DESIGN.md invariants on chain (relayer/devnet/invariants.ts).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import type { NodeStatus } from '../../relayer/api/types.ts';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import type { Address, ChainConfig, DevnetManifest, NodeRole } from '../../relayer/config/types.ts';
import { type Cluster, type ClusterOptions, createCluster } from '../../relayer/devnet/cluster.ts';
import { type Devnet, type DevnetOptions, startDevnet } from '../../relayer/devnet/index.ts';
import {
  auditPackets,
  checkConservation,
  type InvariantResult,
  packetInvariants,
} from '../../relayer/devnet/invariants.ts';

export interface Net {
  devnet: Devnet;
  cluster: Cluster;
  manifest: DevnetManifest;
  dir: string;
  chains: ChainConfig[];
  rpc(chain: ChainConfig): JsonRpcProvider;
  status(i: number): Promise<NodeStatus>;
  stop(): Promise<void>;
}

export async function bootNet(
  options: DevnetOptions & {
    roles?: NodeRole[];
    nodes?: number;
    /**
     * The manifest the nodes read (written next to the devnet's): e.g. a chain's RPC URL pointed at
     * a fault proxy. The test's own providers keep the devnet's URLs.
     */
    nodeManifest?: (manifest: DevnetManifest) => Promise<DevnetManifest>;
    /**
     * Per-node manifests, index-aligned with the nodes (undefined: the shared one): e.g. one node
     * reading a chain through two RPC URLs.
     */
    nodeManifests?: (manifest: DevnetManifest) => Promise<(DevnetManifest | undefined)[]>;
    /** Per-node chains and roles (relayer/devnet/cluster.ts). */
    nodeOverrides?: ClusterOptions['nodes'];
    /** Extra `xmargin node` flags for every node. */
    nodeArgs?: string[];
    /**
     * Nodes started (API up) before the others: a node that follows a chain through observations
     * has to hear them from the chain's first block on.
     */
    startFirst?: number[];
  } = {},
): Promise<Net> {
  await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20', 'SettableAggregator']);
  const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-faults-'));
  const manifestFile = path.join(dir, 'manifest.json');
  const devnet = await startDevnet({ chains: 3, blockTime: 1, ...options, manifestPath: manifestFile });
  const manifest = devnet.manifest;
  const providers = new Map<string, JsonRpcProvider>();
  const rpc = (chain: ChainConfig): JsonRpcProvider => {
    let p = providers.get(chain.name);
    if (p === undefined) {
      p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, { staticNetwork: true, pollingInterval: 250 });
      providers.set(chain.name, p);
    }
    return p;
  };
  let cluster: Cluster | undefined;
  try {
    let nodeManifestFile = manifestFile;
    if (options.nodeManifest !== undefined) {
      nodeManifestFile = path.join(dir, 'nodes-manifest.json');
      writeFileSync(nodeManifestFile, `${JSON.stringify(await options.nodeManifest(manifest), null, 2)}\n`);
    }
    const overrides = [...(options.nodeOverrides ?? [])];
    const perNode = (await options.nodeManifests?.(manifest)) ?? [];
    perNode.forEach((m, i) => {
      if (m === undefined) return;
      const file = path.join(dir, `node-${i + 1}-manifest.json`);
      writeFileSync(file, `${JSON.stringify(m, null, 2)}\n`);
      overrides[i] = { ...overrides[i], networksFile: file };
    });
    cluster = await createCluster({
      manifest,
      manifestFile: nodeManifestFile,
      dir,
      roles: options.roles ?? ['attestor', 'executor'],
      ...(options.nodes === undefined ? {} : { count: options.nodes }),
      ...(overrides.length === 0 ? {} : { nodes: overrides }),
      ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
    });
    const first = options.startFirst ?? [];
    await Promise.all(first.map((i) => cluster?.start(i)));
    for (const i of first) {
      const url = cluster.nodes[i]?.apiUrl;
      await waitFor(`node ${i + 1} API`, async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined));
    }
    await Promise.all(
      cluster.nodes.filter((n) => !first.includes(n.index)).map((n) => cluster?.start(n.index)),
    );
  } catch (err) {
    await cluster?.stopAll();
    await devnet.stop();
    throw err;
  }
  const c = cluster;
  const status = async (i: number): Promise<NodeStatus> =>
    (await (await fetch(`${c.nodes[i]?.apiUrl}/status`)).json()) as NodeStatus;
  try {
    await waitFor('every node API and mesh', async () => {
      for (let i = 0; i < c.nodes.length; i++) {
        const s = await status(i);
        if (s.peers.filter((p) => p.signer !== undefined).length < c.nodes.length - 1) return undefined;
      }
      return true;
    });
  } catch (err) {
    // Nothing left running when the boot fails (afterAll sees no net to stop).
    await c.stopAll();
    await devnet.stop();
    throw err;
  }
  return {
    devnet,
    cluster: c,
    manifest,
    dir,
    chains: manifest.chains,
    rpc,
    status,
    async stop() {
      // Resume anything a scenario froze, so SIGTERM can land.
      for (const n of c.nodes) n.process?.kill('SIGCONT');
      await c.stopAll();
      for (const p of providers.values()) p.destroy();
      await devnet.stop();
      if (process.env.XMARGIN_KEEP_TMP === undefined) rmSync(dir, { recursive: true, force: true });
      else console.log(`faults: working directory kept: ${dir}`);
    },
  };
}

export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The one result line of a scenario. */
export function result(name: string, ok: boolean, figure: string): void {
  console.log(`FAULT ${name}: ${ok ? 'ok' : 'FAIL'} — ${figure}`);
}

export function keyOf(
  manifest: DevnetManifest,
  role: string,
  n = 0,
): { address: Address; privateKey: string } {
  const a = manifest.accounts.filter((x) => x.role === role)[n];
  if (a === undefined) throw new Error(`the manifest has no ${role} #${n}`);
  return { address: a.address as Address, privateKey: a.privateKey };
}

export function tokenOf(chain: ChainConfig, symbol: string): Address {
  const t = chain.tokens.find((x) => x.symbol === symbol);
  if (t === undefined) throw new Error(`${chain.name} has no ${symbol}`);
  return t.address as Address;
}

/** The trader's WETH deposits on A for engine B, and the credit they give on B. */
export class Depositor {
  readonly address: Address;
  readonly #vault: Contract;
  readonly #engine: Contract;
  readonly #weth: Address;
  readonly #dstEid: number;
  readonly #srcEid: number;
  #ready: Promise<void> | undefined;
  readonly #token: Contract;
  readonly #signer: NonceManager;

  constructor(net: Net, key: { address: Address; privateKey: string }, src = 0, dst = 1) {
    const A = net.chains[src] as ChainConfig;
    const B = net.chains[dst] as ChainConfig;
    const signer = new NonceManager(new Wallet(key.privateKey, net.rpc(A)));
    this.#signer = signer;
    this.address = key.address;
    this.#weth = tokenOf(A, 'WETH');
    this.#srcEid = A.eid;
    this.#dstEid = B.eid;
    this.#vault = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, signer);
    this.#engine = new Contract(B.xmargin.engine as string, readArtifact('MarginEngine').abi, net.rpc(B));
    this.#token = new Contract(this.#weth, readArtifact('MockERC20').abi, signer);
  }

  /** Forget the locally counted nonce (after a revert, or another sender of the same key). */
  resetNonce(): void {
    this.#signer.reset();
  }

  /** Mints and approves (once); deposit() does it on first use. */
  async prepare(): Promise<void> {
    await this.#prepare();
  }

  async #prepare(): Promise<void> {
    this.#ready ??= (async () => {
      await (await this.#token.getFunction('mint')(this.address, 1000n * 10n ** 18n)).wait();
      await (
        await this.#token.getFunction('approve')(await this.#vault.getAddress(), 2n ** 256n - 1n)
      ).wait();
    })();
    await this.#ready;
  }

  async credit(): Promise<bigint> {
    return (await this.#engine.getFunction('creditOf')(this.address, 0n, this.#srcEid, this.#weth)) as bigint;
  }

  /** Sends one deposit (`options` on top of the vault's enforced ones) and returns its block. */
  async deposit(amount: bigint, options = '0x'): Promise<number> {
    await this.#prepare();
    const fee = (await this.#vault.getFunction('quoteDeposit')(
      this.#weth,
      amount,
      0n,
      this.#dstEid,
      options,
    )) as [bigint, bigint];
    const receipt = await (
      await this.#vault.getFunction('deposit')(this.#weth, amount, 0n, this.#dstEid, options, {
        value: fee[0],
      })
    ).wait();
    return receipt?.blockNumber ?? 0;
  }
}

/**
 * End of every scenario: waits (up to `timeoutMs`) for every packet sent between the devnet's chains
 * to be delivered, then checks nothing was lost, verified or delivered twice, and conservation for
 * `accounts`. Returns the failed checks (empty when all held) and a short summary.
 */
export async function checkInvariants(
  net: Net,
  accounts: readonly Address[],
  timeoutMs = 45_000,
): Promise<{ failed: InvariantResult[]; summary: string }> {
  const provider = (c: ChainConfig) => net.rpc(c);
  let audit = await auditPackets(net.manifest, provider);
  const start = Date.now();
  while (audit.missing.length > 0 && Date.now() - start < timeoutMs) {
    await sleep(500);
    audit = await auditPackets(net.manifest, provider);
  }
  const all = [...packetInvariants(audit), ...(await checkConservation(net.manifest, accounts, provider))];
  const failed = all.filter((r) => !r.held);
  for (const f of failed) console.log(`  invariant FAILED: ${f.name}: ${f.detail}`);
  return {
    failed,
    summary: `invariants ${all.length - failed.length}/${all.length} held (${audit.delivered}/${audit.sent} packets delivered once)`,
  };
}

/** Every chain's latest block number, in the order of `net.chains`. */
export async function heads(net: Net): Promise<number[]> {
  return Promise.all(net.chains.map((c) => net.rpc(c).getBlockNumber()));
}

/** Node `i` holds at least block `heads[k]` of each chain, with its RPC up and a lag of at most 1. */
export async function caughtUp(net: Net, i: number, heads: number[]): Promise<boolean> {
  const s = await net.status(i);
  return net.chains.every((c, k) => {
    const st = s.chains.find((x) => x.eid === c.eid);
    return st?.rpcOk === true && (st.head ?? -1) >= (heads[k] ?? 0) && (st.lag ?? 99) <= 1;
  });
}
