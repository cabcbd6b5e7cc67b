// The relayer network end to end: a 3-chain devnet (1 s blocks) and 4 `xmargin node` processes with
// the attestor, executor and liquidator roles. A trader locks WETH on A and USDC on B for the engine
// on C and opens a leveraged long on C; a price drop makes it unhealthy; exactly one node liquidates
// it on C, the WETH on A is paid out to that node's address on A, and every node's status shows the
// new state. Then: with the first-ranked liquidator stopped before the drop, the next in rank acts
// (its heartbeats are gone, so the ranking moves on; the claim-deadline takeover of a first-ranked
// node that is still seen alive is covered by test/e2e/liquidator.test.ts); a healthy account is never submitted; a node killed mid-run catches up and agrees.

import { Contract, type JsonRpcProvider, NonceManager, parseUnits, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../attestor/rendezvous.ts';
import type { AccountStatus, NodeStatus } from '../../relayer/api/types.ts';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { fetchStatus } from '../../relayer/cli/status.ts';
import { createClient, type XmarginClient } from '../../relayer/client/index.ts';
import type { Address, ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Cluster, createCluster } from '../../relayer/devnet/cluster.ts';
import type { Devnet } from '../../relayer/devnet/index.ts';
import { rankKey } from '../../relayer/liquidation/index.ts';
import { providerPool, startNodeDevnet, stopNetwork, waitFor } from '../support/e2e.ts';

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let dir = '';
let manifest: DevnetManifest;
let A: ChainConfig;
let B: ChainConfig;
let C: ChainConfig;
const pool = providerPool();
const figures: string[] = [];

const rpc = (chain: ChainConfig): JsonRpcProvider => pool.provider(chain);

async function status(i: number): Promise<NodeStatus> {
  return fetchStatus(cluster?.nodes[i]?.apiUrl as string);
}

function accountOn(s: NodeStatus, account: string): AccountStatus | undefined {
  return s.accounts?.find((a) => a.account.toLowerCase() === account.toLowerCase());
}

/** The devnet key of `role` (the n-th one of it). */
function keyOf(role: string, n = 0): { address: string; privateKey: string } {
  const account = manifest.accounts.filter((a) => a.role === role)[n];
  if (account === undefined) throw new Error(`the manifest has no ${role} #${n}`);
  return account;
}

/** A trader with WETH on A and USDC on B credited to C, long `size` ETH on C. */
async function openRiskyLong(
  spare: { address: string; privateKey: string },
  size: string,
): Promise<XmarginClient> {
  const deployer = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(A)));
  const deployerB = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(B)));
  const erc20 = readArtifact('MockERC20').abi;
  await (
    await new Contract(
      A.tokens.find((t) => t.symbol === 'WETH')?.address as string,
      erc20,
      deployer,
    ).getFunction('mint')(spare.address, parseUnits('2', 18))
  ).wait();
  await (
    await new Contract(
      B.tokens.find((t) => t.symbol === 'USDC')?.address as string,
      erc20,
      deployerB,
    ).getFunction('mint')(spare.address, parseUnits('2000', 6))
  ).wait();
  const client = createClient({ chains: manifest.chains, privateKey: spare.privateKey });
  await client.deposit({ chain: A.name, token: 'WETH', amount: '2', engine: C.name });
  await client.deposit({ chain: B.name, token: 'USDC', amount: '2000', engine: C.name });
  await waitFor(
    'both deposits credited on C',
    async () => {
      const h = (await client.health()).find((x) => x.chain === C.name);
      return (h?.collaterals.length ?? 0) >= 2 ? true : undefined;
    },
    90_000,
  );
  await client.trade({ engine: C.name, size });
  return client;
}

async function setEthPrice(usd: number): Promise<number> {
  const deployer = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(C)));
  const feed = new Contract(
    C.tokens.find((t) => t.symbol === 'WETH')?.feed as string,
    readArtifact('SettableAggregator').abi,
    deployer,
  );
  const receipt = await (await feed.getFunction('setAnswer')(BigInt(usd) * 10n ** 8n)).wait();
  return receipt?.blockNumber ?? 0;
}

async function liquidations(
  account: Address,
  fromBlock: number,
): Promise<{ liquidator: string; hash: string; blockNumber: number }[]> {
  const engine = new Contract(C.xmargin.engine as string, readArtifact('MarginEngine').abi, rpc(C));
  const logs = await engine.queryFilter(engine.getEvent('Liquidated')(account), fromBlock);
  return logs.map((l) => {
    const e = l as unknown as { args: { liquidator: string }; transactionHash: string; blockNumber: number };
    return { liquidator: e.args.liquidator, hash: e.transactionHash, blockNumber: e.blockNumber };
  });
}

describe('relayer network: unified margin view and coordinated liquidations', () => {
  beforeAll(async () => {
    await ensureArtifacts([
      'CollateralVault',
      'MarginEngine',
      'PerpMarket',
      'MockERC20',
      'SettableAggregator',
    ]);
    const booted = await startNodeDevnet('network', 4);
    ({ devnet, dir } = booted);
    const manifestFile = booted.manifestFile;
    manifest = devnet.manifest;
    [A, B, C] = manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    cluster = await createCluster({
      manifest,
      manifestFile,
      dir,
      roles: ['attestor', 'executor', 'liquidator'],
    });
    // Liquidators pay in USDC on C.
    const signer = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(C)));
    const usdc = new Contract(
      C.tokens.find((t) => t.symbol === 'USDC')?.address as string,
      readArtifact('MockERC20').abi,
      signer,
    );
    for (const n of cluster.nodes)
      await (await usdc.getFunction('mint')(n.signer, parseUnits('1000000', 6))).wait();
    await Promise.all(cluster.nodes.map((n) => cluster?.start(n.index)));
    await waitFor('every node API', async () => {
      for (let i = 0; i < 4; i++) await status(i);
      return true;
    });
  }, 240_000);

  afterAll(async () => {
    await stopNetwork({ cluster, pool, devnet, dir, figures });
  });

  it('liquidates an unhealthy cross-chain account exactly once, pays the remote seizure on A, and every node sees it', async () => {
    const client = await openRiskyLong(keyOf('trader'), '20');
    const trader = client.address;
    // Every node's view shows the account, healthy, spanning A and B.
    for (let i = 0; i < 4; i++) {
      const a = await waitFor(`node ${i + 1} to see the account`, async () =>
        accountOn(await status(i), trader),
      );
      expect(new Set(a.collateral.map((c) => c.chain))).toEqual(new Set([A.name, B.name]));
    }
    const wethA = new Contract(
      A.tokens.find((t) => t.symbol === 'WETH')?.address as string,
      readArtifact('MockERC20').abi,
      rpc(A),
    );
    const balances = await Promise.all(
      (cluster?.nodes ?? []).map((n) => wethA.getFunction('balanceOf')(n.signer) as Promise<bigint>),
    );

    const priceBlock = await setEthPrice(1830);
    const priceAt = Date.now();
    const liq = await waitFor(
      'a liquidation',
      async () => {
        const l = await liquidations(trader, priceBlock);
        return l.length > 0 ? l : undefined;
      },
      60_000,
    );
    const latencyMs = Date.now() - priceAt;
    await new Promise((r) => setTimeout(r, 6_000)); // room for a (wrong) second liquidation to land
    const all = await liquidations(trader, priceBlock);
    expect(all).toHaveLength(1);
    const winner = (cluster?.nodes ?? []).findIndex(
      (n) => n.signer.toLowerCase() === liq[0]?.liquidator.toLowerCase(),
    );
    expect(winner).toBeGreaterThanOrEqual(0);
    figures.push(
      `price update -> liquidation mined: ${latencyMs} ms, ${(liq[0]?.blockNumber ?? 0) - priceBlock} block(s)`,
    );

    // The remote collateral on A is paid out to the liquidating node's address on A.
    const paidAt = Date.now();
    const gained = await waitFor(
      'the SEIZE payout on A',
      async () => {
        const now = (await wethA.getFunction('balanceOf')(cluster?.nodes[winner]?.signer)) as bigint;
        const delta = now - (balances[winner] as bigint);
        return delta > 0n ? delta : undefined;
      },
      60_000,
    );
    expect(gained).toBeGreaterThan(0n);
    figures.push(`liquidation -> remote payout on A: ~${Date.now() - paidAt + 0} ms after it was seen`);
    // Nobody else was paid.
    for (let i = 0; i < 4; i++) {
      if (i === winner) continue;
      expect(await wethA.getFunction('balanceOf')(cluster?.nodes[i]?.signer)).toBe(balances[i]);
    }
    // Every node's view shows the new, healthy state.
    const onChain = (await client.health()).find((h) => h.chain === C.name);
    expect(onChain?.health).not.toBeNull();
    expect((onChain?.health ?? 0n) >= 10n ** 18n).toBe(true);
    for (let i = 0; i < 4; i++) {
      await waitFor(
        `node ${i + 1} to show the liquidated state`,
        async () => {
          const a = accountOn(await status(i), trader);
          const e = a?.engines.find((x) => x.chain === C.name);
          return e?.health !== undefined &&
            e.health !== null &&
            Math.abs(e.health - Number(onChain?.health) / 1e18) < 0.01
            ? true
            : undefined;
        },
        30_000,
      );
    }
    // The winner's journal records it as landed.
    const journal = (await status(winner)).liquidations;
    expect(
      journal.some((j) => j.account.toLowerCase() === trader.toLowerCase() && j.state === 'landed'),
    ).toBe(true);
    // …and its follow-up saw the remote seizure paid on A: to it, for what the vault paid it.
    const seized = await waitFor(
      "the winner's journal to show the seizure on A paid",
      async () => {
        const entry = (await status(winner)).liquidations.find(
          (j) => j.account.toLowerCase() === trader.toLowerCase() && j.state === 'landed',
        );
        const z = entry?.seizures?.find((x) => x.chain === A.name);
        return z?.status === 'paid' ? z : undefined;
      },
      30_000,
    );
    expect(seized.symbol).toBe('WETH');
    expect(parseUnits(seized.amount, 18)).toBe(gained);
    expect(seized.latencyMs).toBeGreaterThan(0);
    // Its /metrics observed the landing in xmargin_liquidation_seconds (first seen unhealthy -> receipt),
    // in seconds: about the time the test measured from the price update (its polls add some slack).
    const metrics = await (await fetch(`${cluster?.nodes[winner]?.apiUrl}/metrics`)).text();
    const sample = (name: string) =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')
          .at(-1),
      );
    expect(sample('xmargin_liquidation_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample('xmargin_liquidation_seconds_sum')).toBeGreaterThan(0);
    expect(sample('xmargin_liquidation_seconds_sum')).toBeLessThan(latencyMs / 1000 + 5);
    client.destroy();
  }, 240_000);

  it('with the first-ranked liquidator stopped before the drop, the next one in rank liquidates', async () => {
    await setEthPrice(2000);
    const client = await openRiskyLong(keyOf('spare', 0), '20');
    const trader = client.address;
    // Who ranks first for this (engine, account, subaccount)? Stop exactly that node.
    const signers = (cluster?.nodes ?? []).map((n) => n.signer as Address);
    const ranked = rendezvousOrder(rankKey(C.eid, trader, 0n), signers);
    const first = signers.findIndex((s) => s.toLowerCase() === ranked[0]?.toLowerCase());
    await cluster?.stop(first);
    const priceBlock = await setEthPrice(1830);
    const priceAt = Date.now();
    const liq = await waitFor(
      'a liquidation by the backup',
      async () => {
        const l = await liquidations(trader, priceBlock);
        return l.length > 0 ? l : undefined;
      },
      90_000,
    );
    expect(liq).toHaveLength(1);
    expect(liq[0]?.liquidator.toLowerCase()).not.toBe(ranked[0]?.toLowerCase());
    figures.push(`first-ranked stopped: the backup liquidated after ${Date.now() - priceAt} ms`);
    await cluster?.start(first);
    client.destroy();
  }, 240_000);

  it('a healthy account is never submitted for liquidation', async () => {
    await setEthPrice(2000);
    const client = createClient({ chains: manifest.chains, privateKey: keyOf('spare', 1).privateKey });
    const deployerC = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(C)));
    await (
      await new Contract(
        C.tokens.find((t) => t.symbol === 'WETH')?.address as string,
        readArtifact('MockERC20').abi,
        deployerC,
      ).getFunction('mint')(client.address, parseUnits('5', 18))
    ).wait();
    await client.deposit({ chain: C.name, token: 'WETH', amount: '5', engine: C.name });
    await client.trade({ engine: C.name, size: '2' });
    const from = await setEthPrice(1900);
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await liquidations(client.address, from)).toHaveLength(0);
    for (let i = 0; i < 4; i++) {
      const entries = (await status(i)).liquidations.filter(
        (j) => j.account.toLowerCase() === client.address.toLowerCase(),
      );
      expect(entries.filter((j) => j.state === 'sent' || j.state === 'landed')).toHaveLength(0);
    }
    client.destroy();
  }, 120_000);

  it('a node killed mid-run restarts, catches up and agrees with the others', async () => {
    await cluster?.stop(3, { kill: true });
    // State changes while it is down: a deposit credited on C and a price move.
    const client = createClient({ chains: manifest.chains, privateKey: keyOf('spare', 1).privateKey });
    const deployerC = new NonceManager(new Wallet(manifest.accounts[0]?.privateKey as string, rpc(C)));
    const weth = new Contract(
      C.tokens.find((t) => t.symbol === 'WETH')?.address as string,
      readArtifact('MockERC20').abi,
      deployerC,
    );
    await (await weth.getFunction('mint')(client.address, parseUnits('1', 18))).wait();
    await client.deposit({ chain: C.name, token: 'WETH', amount: '1', engine: C.name });
    await setEthPrice(1950);
    const restartedAt = Date.now();
    await cluster?.start(3);
    const reference = accountOn(await status(0), client.address);
    await waitFor(
      'the restarted node to agree',
      async () => {
        const mine = accountOn(await status(3), client.address);
        const ref = accountOn(await status(0), client.address);
        return mine !== undefined &&
          ref !== undefined &&
          JSON.stringify(mine.engines) === JSON.stringify(ref.engines)
          ? true
          : undefined;
      },
      60_000,
    );
    expect(reference).toBeDefined();
    figures.push(`killed node back and in agreement ${Date.now() - restartedAt} ms after restart`);
    client.destroy();
  }, 120_000);
});
