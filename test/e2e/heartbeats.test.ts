// Staleness-aware weights end to end: a 3-chain devnet (1 s blocks, 2-of-3 attestors; chain A holds
// collateral only, B and C host engines) and 3 `xmargin node` processes that attest, execute and send
// source-chain heartbeats every 2 s. Engine C discounts WETH credited from chain A once A's last
// heartbeat is 20 s old, linearly to 0 over 40 s more. While the nodes run, heartbeats reach every
// remote engine through LayerZero's DVN and Executor contracts, one send per pathway per epoch, and
// a trader's WETH from A keeps its full weight on C. With every node stopped nothing is heard from A:
// the engine itself values that collateral down to 0. Restarted, the nodes' next heartbeat restores it.

import { Contract, NonceManager, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { fetchStatus } from '../../relayer/cli/status.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Cluster, createCluster } from '../../relayer/devnet/cluster.ts';
import type { Devnet } from '../../relayer/devnet/index.ts';
import { providerPool, startNodeDevnet, stopNetwork, waitFor } from '../support/e2e.ts';

const E = 10n ** 18n;
// The grace is 10 heartbeat intervals: a heartbeat's trip (source block, DVN quorum, executor) took up
// to ~25 s on a loaded 2-core CI machine, and a grace inside that would fail a live pathway.
const GRACE = 40;
const DECAY = 40;
const INTERVAL_SEC = 4;

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let dir = '';
let manifest: DevnetManifest;
let A: ChainConfig;
let B: ChainConfig;
let C: ChainConfig;
const pool = providerPool();
const figures: string[] = [];

const engine = (chain: ChainConfig) =>
  new Contract(chain.xmargin.engine as string, readArtifact('MarginEngine').abi, pool.provider(chain));
const lastHeard = async (engineChain: ChainConfig, src: ChainConfig): Promise<bigint> =>
  BigInt(await engine(engineChain).getFunction('lastHeardAt')(src.eid));
const headTime = async (chain: ChainConfig): Promise<number> =>
  (await pool.provider(chain).getBlock('latest'))?.timestamp as number;
const wethOf = (chain: ChainConfig): string =>
  chain.tokens.find((t) => t.symbol === 'WETH')?.address as string;

describe('source-chain heartbeats and staleness-aware weights (devnet, 3 nodes)', () => {
  let trader: Wallet;

  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    const booted = await startNodeDevnet('heartbeats', 3);
    ({ devnet, dir } = booted);
    const manifestFile = booted.manifestFile;
    manifest = devnet.manifest;
    [A, B, C] = manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    const deployerKey = manifest.accounts.find((a) => a.role === 'deployer')?.privateKey as string;
    trader = new Wallet(manifest.accounts.find((a) => a.role === 'trader')?.privateKey as string);

    // Engine C: WETH credited from A is staleness-aware (the owner's setCollateralSource).
    const owner = new NonceManager(new Wallet(deployerKey, pool.provider(C)));
    const engineC = engine(C).connect(owner) as Contract;
    const s = await engineC.getFunction('collateralSource')(A.eid, wethOf(A));
    await (
      await engineC.getFunction('setCollateralSource')(A.eid, wethOf(A), [
        s.assetId,
        s.decimals,
        s.enabled,
        GRACE,
        DECAY,
        s.creditCap,
        s.bridgeCapacity,
        s.bridgeWindow,
      ])
    ).wait();

    cluster = await createCluster({
      manifest,
      manifestFile,
      dir,
      roles: ['attestor', 'executor'],
      heartbeats: { intervalSec: INTERVAL_SEC },
    });
    await Promise.all(cluster.nodes.map((n) => cluster?.start(n.index)));
  }, 120_000);

  afterAll(async () => {
    await stopNetwork({ cluster, pool, devnet, dir, figures });
  }, 30_000);

  it('every remote engine hears every source chain through the DVN and executor, one send per epoch', async () => {
    const t0 = Date.now();
    const pathways: [ChainConfig, ChainConfig][] = [
      [A, B],
      [A, C],
      [B, C],
      [C, B],
    ];
    for (const [src, dst] of pathways) {
      await waitFor(
        `a heartbeat from ${src.name} on ${dst.name}`,
        async () => ((await lastHeard(dst, src)) > 0n ? true : undefined),
        30_000,
      );
    }
    figures.push(`heartbeats: every pathway heard ${Date.now() - t0} ms after the nodes started`);

    // Over a window of epochs: the record keeps moving and never ages past the grace, and the
    // vault on A sent about one heartbeat per epoch to C, not one per node.
    const vaultA = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, pool.provider(A));
    const fromBlock = await pool.provider(A).getBlockNumber();
    const windowMs = 6 * INTERVAL_SEC * 1000;
    let worstAge = 0;
    const until = Date.now() + windowMs;
    while (Date.now() < until) {
      worstAge = Math.max(worstAge, (await headTime(C)) - Number(await lastHeard(C, A)));
      await new Promise((r) => setTimeout(r, 500));
    }
    const sent = await vaultA.queryFilter(vaultA.getEvent('HeartbeatSent')(C.eid), fromBlock);
    figures.push(
      `heartbeats: A -> C, ${sent.length} sent in ${windowMs / 1000} s (interval ${INTERVAL_SEC} s), oldest seen on C ${worstAge} s`,
    );
    expect(worstAge).toBeLessThan(GRACE);

    // What an operator sees: every node's /status (sends, and each engine's age of A's heartbeat)
    // and the heartbeat counter in /metrics.
    const statuses = await Promise.all((cluster?.nodes ?? []).map((n) => fetchStatus(n.apiUrl)));
    const sentByNodes = statuses.reduce((sum, st) => sum + (st.heartbeats?.sent ?? 0), 0);
    expect(sentByNodes).toBeGreaterThan(0);
    for (const st of statuses) {
      expect(st.heartbeats?.failed).toBe(0);
      const heardOnC = st.heartbeats?.heard.find((h) => h.engineEid === C.eid && h.srcEid === A.eid);
      expect(heardOnC?.ageSec).toBeLessThan(GRACE);
    }
    const metrics = await (await fetch(`${cluster?.nodes[0]?.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/xmargin_heartbeats_total\{outcome="sent"\} \d+/);
    expect(sent.length).toBeGreaterThanOrEqual(windowMs / 1000 / INTERVAL_SEC - 2);
    expect(sent.length).toBeLessThanOrEqual(windowMs / 1000 / INTERVAL_SEC + 2);
  }, 90_000);

  it("the engine values a silent chain's collateral down to 0, and a heartbeat restores it", async () => {
    // 2 WETH from A for engine C, delivered by the nodes: 2 × 2000 × 0.8 at full weight.
    const tA = trader.connect(pool.provider(A));
    const token = new Contract(wethOf(A), readArtifact('MockERC20').abi, new NonceManager(tA));
    await (await token.getFunction('mint')(trader.address, 2n * E)).wait();
    await (await token.getFunction('approve')(A.xmargin.vault, 2n * E)).wait();
    const vault = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, tA);
    const fee = (await vault.getFunction('quoteDeposit')(wethOf(A), 2n * E, 0, C.eid, '0x'))
      .nativeFee as bigint;
    await (await vault.getFunction('deposit')(wethOf(A), 2n * E, 0, C.eid, '0x', { value: fee })).wait();
    const value = async () =>
      (await engine(C).getFunction('health')(trader.address, 0)).collateralValue as bigint;
    const full = await waitFor(
      'the deposit credited on C',
      async () => ((await value()) > 0n ? value() : undefined),
      30_000,
    );
    expect(full).toBe(3_200n * E);

    // Every node stops: nothing more is heard from A while the clocks move past grace + decay.
    // Every chain's clock moves alike, so that A's next heartbeat is dated in C's present again.
    await cluster?.stopAll();
    const warp = async (seconds: number) => {
      for (const chain of [A, B, C]) {
        await pool.provider(chain).send('evm_increaseTime', [seconds]);
        await pool.provider(chain).send('evm_mine', []);
      }
    };
    // To the middle of the decay window, whatever stopping the nodes took.
    const age = (await headTime(C)) - Number(await lastHeard(C, A));
    await warp(Math.max(1, GRACE + DECAY / 2 - age));
    const half = await value();
    await warp(DECAY);
    const none = await value();
    figures.push(
      `heartbeats: silent A -> WETH from A on C valued ${full / E} -> ${half / E} -> ${none / E} USD`,
    );
    expect(half).toBeLessThan(full);
    expect(half).toBeGreaterThan(0n);
    expect(none).toBe(0n);

    // Restarted, the nodes send again: full weight back.
    const t0 = Date.now();
    await Promise.all((cluster?.nodes ?? []).map((n) => cluster?.start(n.index)));
    await waitFor(
      'a new heartbeat from A on C',
      async () => ((await value()) === full ? true : undefined),
      90_000,
    );
    figures.push(`heartbeats: full weight back ${Date.now() - t0} ms after the nodes restarted`);
  }, 180_000);
});
