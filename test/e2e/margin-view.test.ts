// The margin view against a live 3-chain devnet (automine, so confirmations 0): random portfolios
// — traders deposit WETH, USDC and WBTC locally on the engine chains, open and change positions on
// the PerpMarket, prices move, the owner re-weights assets, unhealthy sub-accounts get liquidated — and after every step the
// view's health of every sub-account on every engine equals engine.health() read by eth_call at
// the block the view has applied, to the wei. Then: a view killed half-way (by a failing store
// write) and reopened catches up from its cursor and equals a fresh full rebuild.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, MaxUint256, toBeHex, Wallet, zeroPadValue } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { HeadroomWallet } from '../../relayer/chain/gas.ts';
import { ChainRpc } from '../../relayer/chain/rpc.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { silentLogger } from '../../relayer/log.ts';
import { createMarginView, type MarginView } from '../../relayer/margin/index.ts';
import { obligations } from '../../relayer/margin/solvency.ts';
import { encodeHeartbeat, encodeLock, type Hex } from '../../relayer/protocol/index.ts';
import { openStore, type Store } from '../../relayer/store/index.ts';

const E = 10n ** 18n;
const SEED = Number(process.env.MARGIN_SEED ?? 20_260_601);
const STEPS = Number(process.env.MARGIN_STEPS ?? 45);

let devnet: Devnet | undefined;
let manifest: DevnetManifest;
const dirs: string[] = [];
const providers: JsonRpcProvider[] = [];
const rpcs: ChainRpc[] = [];
const stores: Store[] = [];
const views: MarginView[] = [];

/** mulberry32: small, seeded, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const between = (lo: number, hi: number): bigint => BigInt(Math.floor(lo + rand() * (hi - lo)));

function rpcFor(chain: ChainConfig): ChainRpc {
  const r = new ChainRpc(chain, { retries: 1 });
  rpcs.push(r);
  return r;
}

async function newStore(dir?: string): Promise<{ store: Store; dir: string }> {
  const d = dir ?? mkdtempSync(path.join(tmpdir(), 'xmargin-margin-'));
  if (dir === undefined) dirs.push(d);
  const store = await openStore(d);
  stores.push(store);
  return { store, dir: d };
}

async function newView(store: Store): Promise<MarginView> {
  const view = createMarginView({
    chains: manifest.chains,
    store,
    rpcFor,
    log: silentLogger(),
    confirmations: 0,
    pollIntervalMs: 60_000, // the test drives it with sync()
    // Every price tick goes through the packed screen (a node does so from 1,000 exposed entries):
    // its verdicts are checked against engine.health() below, through unhealthy().
    screenMinEntries: 0,
  });
  views.push(view);
  await view.start();
  await view.sync();
  return view;
}

beforeAll(async () => {
  await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20', 'SettableAggregator']);
  devnet = await startDevnet({ chains: 3, blockTime: 'automine', manifestPath: null });
  manifest = devnet.manifest;
});

afterAll(async () => {
  for (const v of views) await v.stop().catch(() => undefined);
  for (const s of stores) await s.close().catch(() => undefined);
  for (const r of rpcs) r.destroy();
  for (const p of providers) p.destroy();
  await devnet?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('margin view on a devnet', () => {
  it('equals engine.health() for every sub-account after every random step, then survives a crash', async () => {
    const engineChains = manifest.chains.filter((c) => c.xmargin.engine !== undefined);
    const abi = {
      vault: readArtifact('CollateralVault').abi,
      engine: readArtifact('MarginEngine').abi,
      market: readArtifact('PerpMarket').abi,
      erc20: readArtifact('MockERC20').abi,
      feed: readArtifact('SettableAggregator').abi,
    };
    const keys = manifest.accounts.filter((a) => ['trader', 'liquidator', 'spare'].includes(a.role));
    const deployerKey = manifest.accounts.find((a) => a.role === 'deployer')?.privateKey as string;
    const liquidatorKey = manifest.accounts.find((a) => a.role === 'liquidator')?.privateKey as string;
    const per = engineChains.map((chain) => {
      const p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
        staticNetwork: true,
        cacheTimeout: -1,
      });
      providers.push(p);
      const token = (s: string) => chain.tokens.find((t) => t.symbol === s) as ChainConfig['tokens'][number];
      return {
        chain,
        provider: p,
        traders: keys.map((k) => new HeadroomWallet(k.privateKey, p)),
        deployer: new Wallet(deployerKey, p),
        liquidator: new Wallet(liquidatorKey, p),
        engine: new Contract(chain.xmargin.engine as string, abi.engine, p),
        tokens: ['WETH', 'USDC', 'WBTC'].map(token),
      };
    });

    // Size-aware weights: WETH past 5,000 USD and WBTC past 20,000 USD in one sub-account count as
    // sqrt(value x depth), so the random deposits cross the depth often.
    for (const x of per) {
      const owned = x.engine.connect(x.deployer) as Contract;
      for (const [id, depth] of [
        [1, 5],
        [3, 20],
      ] as const) {
        const a = await x.engine.getFunction('riskAsset')(id);
        await (await owned.getFunction('setRiskAsset')(id, [a.oracle, a.weight, a.enabled, depth])).wait();
      }
    }

    const { store, dir } = await newStore();
    // A second view on a store that dies at its 40th write: the "killed in the middle" node.
    const crashing = await newStore();
    let writes = 0;
    const failing: Store = {
      ...crashing.store,
      async batch(ops) {
        if (++writes >= 40) throw new Error('simulated crash');
        await crashing.store.batch(ops);
      },
    };
    const view = await newView(store);
    const killed = createMarginView({
      chains: manifest.chains,
      store: failing,
      rpcFor,
      log: silentLogger(),
      confirmations: 0,
      pollIntervalMs: 60_000,
    });
    views.push(killed);
    await killed.start();
    await killed.sync().catch(() => undefined);
    expect(killed.stats().blocksApplied).toBeLessThan(40);
    await killed.stop();

    let changes = 0;
    view.onChange((c) => {
      changes += c.length;
    });

    const check = async (label: string) => {
      await view.sync();
      for (const x of per) {
        const block = view.stats().chains[x.chain.eid]?.block as number;
        expect(block).toBe(await x.provider.getBlockNumber());
        const flagged = new Set(view.unhealthy(x.chain.eid).map((u) => `${u.account}:${u.subaccount}`));
        for (const { account, subaccount } of view.accounts()) {
          const onChain = await x.engine
            .getFunction('health')
            .staticCall(account, subaccount, { blockTag: block });
          const mine = view.engineHealth(x.chain.eid, account, subaccount);
          expect(mine, `${label}: ${x.chain.name} ${account}/${subaccount}`).toEqual({
            collateralValue: onChain.collateralValue,
            equity: onChain.equity,
            maintenanceRequirement: onChain.maintenanceRequirement,
            initialRequirement: onChain.initialRequirement,
            notional: onChain.notional,
            health: onChain.health,
          });
          // Listed as unhealthy exactly when engine.health() is under 1, screened or recomputed.
          const liquidatable = onChain.health < 10n ** 18n;
          expect(
            flagged.has(`${account}:${subaccount}`),
            `${label}: ${x.chain.name} ${account}/${subaccount} flagged`,
          ).toBe(liquidatable);
        }
      }
    };

    const prices = new Map<string, bigint>();
    let trades = 0;
    let reweights = 0;
    let liquidations = 0;
    /** Who has collateral where: trades are drawn from them so that most pass initial margin. */
    const funded: { x: (typeof per)[number]; who: Wallet; sub: bigint }[] = [];
    for (let step = 0; step < STEPS; step++) {
      let x = pick(per);
      let who = pick(x.traders);
      let sub = BigInt(Math.floor(rand() * 2));
      const r = rand();
      if (step >= 8 && r >= 0.35 && r < 0.75) ({ x, who, sub } = pick(funded));
      let label: string;
      if (step < 8 || r < 0.35) {
        const t = pick(x.tokens);
        const units =
          t.symbol === 'WETH'
            ? (between(1, 20) * E) / 10n
            : t.symbol === 'WBTC'
              ? between(1, 50) * 10n ** 6n
              : between(100, 20_000) * 10n ** 6n;
        const token = new Contract(t.address, abi.erc20, who);
        await (await token.getFunction('mint')(who.address, units)).wait();
        await (await token.getFunction('approve')(x.chain.xmargin.vault, units)).wait();
        const vault = new Contract(x.chain.xmargin.vault, abi.vault, who);
        await (await vault.getFunction('deposit')(t.address, units, sub, x.chain.eid, '0x')).wait();
        funded.push({ x, who, sub });
        label = `step ${step}: deposit ${units} ${t.symbol} ${who.address}/${sub} on ${x.chain.name}`;
      } else if (r < 0.75) {
        const market = new Contract(x.chain.xmargin.market as string, abi.market, who);
        // Now and then near 10x (refused when it is above initial margin), so that crashes liquidate.
        const big = rand() < 0.3 ? (rand() < 0.5 ? -1n : 1n) * between(50, 150) : between(-30, 30);
        const size = (big * E) / 10n || E;
        try {
          await (await market.getFunction('trade')(sub, 1, size, size > 0n ? MaxUint256 : 0n)).wait();
          trades++;
        } catch {
          // below initial margin: the engine refused the trade; the view must not have moved either
        }
        label = `step ${step}: trade ${size} ${who.address}/${sub} on ${x.chain.name}`;
      } else if (rand() < 0.25) {
        // The owner re-weights a collateral asset (WETH 1, USDC 2, WBTC 3): 0.50 to 0.95.
        const id = 1 + Math.floor(rand() * 3);
        const weight = (between(50, 95) * E) / 100n;
        const a = await x.engine.getFunction('riskAsset')(id);
        const owned = x.engine.connect(x.deployer) as Contract;
        await (await owned.getFunction('setRiskAsset')(id, [a.oracle, weight, a.enabled, a.depth])).wait();
        reweights++;
        label = `step ${step}: asset ${id} weight ${a.weight} -> ${weight} on ${x.chain.name}`;
      } else {
        const t = pick(x.tokens.filter((k) => k.symbol !== 'USDC'));
        const feed = new Contract(t.feed as string, abi.feed, x.deployer);
        const key = `${x.chain.eid}:${t.symbol}`;
        const now = prices.get(key) ?? ((await feed.getFunction('latestAnswer')()) as bigint);
        // Mostly small moves, sometimes a crash deep enough to liquidate leveraged longs.
        const next = (now * (rand() < 0.25 ? between(55, 80) : between(85, 121))) / 100n;
        prices.set(key, next);
        await (await feed.getFunction('setAnswer')(next)).wait();
        label = `step ${step}: ${t.symbol} ${now} -> ${next} on ${x.chain.name}`;
      }
      await check(label);

      // Liquidate what the view says is unhealthy (positions only, no seizure): health must follow.
      for (const y of per) {
        for (const u of view.unhealthy(y.chain.eid)) {
          const engine = new Contract(y.chain.xmargin.engine as string, abi.engine, y.liquidator);
          await (
            await engine.getFunction('liquidate')({
              account: u.account,
              subaccount: u.subaccount,
              seizes: [],
              recipient: y.liquidator.address,
            })
          ).wait();
          liquidations++;
          await check(`after liquidating ${u.account}/${u.subaccount} on ${y.chain.name}`);
        }
      }
    }
    expect(trades).toBeGreaterThan(5);
    expect(reweights).toBeGreaterThan(0);
    expect(changes).toBeGreaterThan(0);
    // Staleness-aware weights: a LOCK from another chain and that chain's heartbeats, delivered the way
    // the endpoint delivers them (impersonated: no attestors run here), then the engine chain's clock
    // walks through the grace and the decay window; the view must follow to the wei at every block.
    {
      const x = per[0] as (typeof per)[number];
      const src = manifest.chains.find((c) => c.eid !== x.chain.eid) as ChainConfig;
      const wethSrc = src.tokens.find((t) => t.symbol === 'WETH')?.address as Hex;
      const endpoint = x.chain.layerZero.endpointV2;
      await x.provider.send('anvil_impersonateAccount', [endpoint]);
      await x.provider.send('anvil_setBalance', [endpoint, '0x56BC75E2D63100000']);
      const asEndpoint = x.engine.connect(await x.provider.getSigner(endpoint)) as Contract;
      let nonce = 1_000;
      const deliver = async (message: Hex) => {
        nonce++;
        const origin = { srcEid: src.eid, sender: zeroPadValue(src.xmargin.vault, 32), nonce };
        const guid = toBeHex(nonce, 32);
        await (
          await asEndpoint.getFunction('lzReceive')(origin, guid, message, endpoint, '0x', {
            // As the executor does (its options fix the gas): an estimate can fall short when the bridge
            // limiter's refill write depends on the block time the transaction lands in.
            gasLimit: 1_000_000n,
          })
        ).wait();
      };
      const owned = x.engine.connect(x.deployer) as Contract;
      const s = await x.engine.getFunction('collateralSource')(src.eid, wethSrc);
      await (
        await owned.getFunction('setCollateralSource')(src.eid, wethSrc, [
          s.assetId,
          s.decimals,
          s.enabled,
          30,
          120,
          s.creditCap,
          s.bridgeCapacity,
          s.bridgeWindow,
        ])
      ).wait();
      const who = x.traders[0] as Wallet;
      await deliver(
        encodeLock({
          id: zeroPadValue('0xbeef', 32) as Hex,
          account: who.address,
          subaccount: 0n,
          token: wethSrc,
          amount: 3n * E,
        }),
      );
      await check('a remote LOCK, never heard from its chain: weight 0');
      const heardAt = (await x.provider.getBlock('latest'))?.timestamp as number;
      await deliver(encodeHeartbeat({ sentAt: BigInt(heardAt) }));
      await check('a heartbeat: full weight');
      expect(await x.engine.getFunction('lastHeardAt')(src.eid)).toBe(BigInt(heardAt));
      const value = async () =>
        (await x.engine.getFunction('health')(who.address, 0n)).collateralValue as bigint;
      const seen = [await value()];
      for (const dt of [20, 15, 30, 40, 45, 200]) {
        await x.provider.send('evm_increaseTime', [dt]);
        await x.provider.send('evm_mine', []);
        await check(`heartbeat ${dt} s older`);
        seen.push(await value());
      }
      // Full weight through the grace, then strictly less at every step of the decay, then flat.
      expect(seen[1]).toBe(seen[0]);
      expect(seen[2] as bigint).toBeLessThan(seen[1] as bigint);
      expect(seen[3] as bigint).toBeLessThan(seen[2] as bigint);
      expect(seen[4] as bigint).toBeLessThan(seen[3] as bigint);
      expect(seen[5] as bigint).toBeLessThan(seen[4] as bigint);
      expect(seen[6]).toBe(seen[5]);
      await x.provider.send('anvil_stopImpersonatingAccount', [endpoint]);
    }

    const stats = view.stats();
    expect(stats.errors).toEqual({});
    // Price ticks went through the screen, and it settled some entries without a bigint recompute.
    expect(stats.screenPacks).toBeGreaterThan(0);
    expect(stats.totalScreened).toBeGreaterThan(0);
    console.log(
      `margin view: ${STEPS} steps, ${trades} trades, ${liquidations} liquidations, ${view.accounts().length} sub-accounts, ` +
        `${stats.blocksApplied} blocks, ${stats.eventsApplied} events, ${stats.totalRecomputed} recomputes (last ${stats.lastRecomputed}), ${stats.totalScreened} screened in ${stats.screenPacks} packs`,
    );

    // The killed view, reopened on its store: catches up from its cursor and equals a fresh rebuild.
    const reopened = await newView(crashing.store);
    const fresh = await newView((await newStore()).store);
    // And the main view restarted on its own store (replay from the store, then follow).
    await view.stop();
    await stores[0]?.close();
    const restarted = await newView((await newStore(dir)).store);
    const snapshot = (v: MarginView) =>
      v
        .accounts()
        .map((a) => v.account(a.account, a.subaccount))
        .sort((a, b) => `${a?.account}:${a?.subaccount}`.localeCompare(`${b?.account}:${b?.subaccount}`));
    const want = snapshot(fresh);
    expect(want.length).toBeGreaterThan(0);
    // The solvency watch's obligations from the raw state equal the sum over every account's margin.
    const owed = fresh.obligations();
    expect(owed.size).toBeGreaterThan(0);
    expect(owed).toEqual(obligations(want.filter((a) => a !== undefined)));
    expect(snapshot(reopened)).toEqual(want);
    expect(snapshot(restarted)).toEqual(want);
    expect(restarted.stats().blocksApplied).toBeLessThan(fresh.stats().blocksApplied);
  }, 300_000);
});
