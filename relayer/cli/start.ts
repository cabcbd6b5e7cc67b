// `npm start` (`xmargin start`): the whole job on the embedded default — a 3-chain devnet with the
// real LayerZero v2 stack and 4 relayer nodes — running the canonical story, step by step:
//   a trader deposits WETH on chain A and USDC on chain B for the engine on chain C; the unified
//   margin appears; the trader opens a leveraged perpetual on C; the price falls; one node partially
//   liquidates the position on C, the collateral on A is seized and paid out to it there; the final
//   balances (the trader's and the liquidator's wallets too), health and the on-chain invariant checks
//   are printed.
// Then it stays up with the dashboard URL until Ctrl-C, or exits with --exit (--json: one summary line).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { Contract, formatUnits, JsonRpcProvider, NonceManager, parseUnits, Wallet } from 'ethers';
import { ensureArtifacts, readArtifact } from '../chain/artifacts.ts';
import { blockAtTime } from '../chain/blocks.ts';
import { createClient, formatWad } from '../client/index.ts';
import type { Address, ChainConfig, DevnetManifest } from '../config/types.ts';
import { type Cluster, createCluster } from '../devnet/cluster.ts';
import { type Devnet, startDevnet } from '../devnet/index.ts';
import { checkConservation } from '../devnet/invariants.ts';

interface StartFlags {
  exit?: boolean;
  json?: boolean;
  keep?: boolean;
}

interface Summary {
  ok: boolean;
  error?: string;
  chains: { name: string; eid: number; rpcUrl: string; role: string }[];
  nodes: { signer: string; peerId: string; dashboard: string }[];
  transactions: { step: string; chain: string; hash: string }[];
  health: { before: string | null; afterPriceDrop: string | null; after: string | null };
  liquidation: {
    liquidator?: string;
    txHash?: string;
    latencyMs?: number;
    latencyBlocks?: number;
    closeFraction?: string;
    remotePayoutConfirmed: boolean;
    payoutLatencyMs?: number;
    /**
     * Blocks of the collateral chain (A) from where it stood when the liquidation was mined on C (its
     * last block with a timestamp ≤ that of the liquidation's block) to the block of the payout.
     */
    payoutLatencyBlocks?: number;
    seized?: string;
  };
  invariants: { name: string; held: boolean; detail: string }[];
  /** Wallet balances at the end (token units): the trader's, and the liquidator's WETH around its payout. */
  balances: {
    trader: { account: string; chain: string; token: string; amount: string }[];
    liquidator?: { account: string; chain: string; token: string; beforePayout: string; afterPayout: string };
  };
  timings: Record<string, number>;
}

export function startCommand(): Command {
  return new Command('start')
    .description(
      'run the canonical story on a local devnet (3 chains, 4 nodes), then keep it up with the dashboard',
    )
    .option('--exit', 'stop everything when the story is done')
    .option('--json', 'print one JSON summary as the last line (with --exit)')
    .option('--keep', 'keep the working directory (node logs, stores) after exit')
    .addHelpText(
      'after',
      '\nExamples:\n  npm start\n  npm start -- --exit --json\n  xmargin start --exit --keep\n',
    )
    .action(async (flags: StartFlags) => {
      const code = await runStory(flags);
      if (code !== 0) throw new Error('the story failed (see above)');
    });
}

async function runStory(flags: StartFlags): Promise<number> {
  const started = Date.now();
  const say = (line: string) => {
    if (flags.json !== true) process.stdout.write(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  const step = (n: number, text: string) =>
    say(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${n}. ${text}`);
  const summary: Summary = {
    ok: false,
    chains: [],
    nodes: [],
    transactions: [],
    health: { before: null, afterPriceDrop: null, after: null },
    liquidation: { remotePayoutConfirmed: false },
    invariants: [],
    balances: { trader: [] },
    timings: {},
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-start-'));
  let devnet: Devnet | undefined;
  let cluster: Cluster | undefined;
  const providers: JsonRpcProvider[] = [];
  let failed = false;
  try {
    step(0, 'compiling the contracts (first run only: under a minute with solc-js)');
    const t0 = Date.now();
    await ensureArtifacts([
      'CollateralVault',
      'MarginEngine',
      'PerpMarket',
      'MockERC20',
      'SettableAggregator',
    ]);
    summary.timings.compileMs = Date.now() - t0;

    step(1, 'starting 3 anvil chains and deploying the LayerZero v2 stack and xmargin on each');
    const manifestFile = path.join(dir, 'manifest.json');
    devnet = await startDevnet({
      chains: 3,
      blockTime: 1,
      attestors: 4,
      quorum: 2,
      manifestPath: manifestFile,
      log: (line) => say(`         ${line}`),
    });
    summary.timings.devnetBootMs = devnet.bootMs;
    const manifest = devnet.manifest;
    const [A, B, C] = manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    summary.chains = manifest.chains.map((c) => ({
      name: c.name,
      eid: c.eid,
      rpcUrl: c.rpcUrls[0] as string,
      role: c.xmargin.engine === undefined ? 'collateral' : 'engine + perp market',
    }));

    step(2, 'starting 4 relayer nodes (attestor, executor, liquidator) over libp2p');
    cluster = await createCluster({
      manifest,
      manifestFile,
      dir,
      roles: ['attestor', 'executor', 'liquidator'],
    });
    await fundLiquidators(manifest, C, providers);
    await Promise.all(cluster.nodes.map((n) => cluster?.start(n.index)));
    summary.nodes = cluster.nodes.map((n) => ({ signer: n.signer, peerId: n.peerId, dashboard: n.apiUrl }));
    await waitFor(
      'the nodes to answer',
      async () => {
        for (const n of cluster?.nodes ?? []) {
          const ok = await fetch(`${n.apiUrl}/healthz`).then(
            (r) => r.ok,
            () => false,
          );
          if (!ok) return false;
        }
        return true;
      },
      60_000,
    );

    const traderKey = manifest.accounts.find((a) => a.role === 'trader')?.privateKey as string;
    const client = createClient({ chains: manifest.chains, privateKey: traderKey });
    const trader = client.address;
    try {
      step(
        3,
        `the trader ${trader} deposits 2 WETH on ${A.name} and 2,000 USDC on ${B.name} for the engine on ${C.name}`,
      );
      const d1 = await client.deposit({ chain: A.name, token: 'WETH', amount: '2', engine: C.name });
      summary.transactions.push({ step: 'deposit WETH', chain: A.name, hash: d1.txHash });
      const d2 = await client.deposit({ chain: B.name, token: 'USDC', amount: '2000', engine: C.name });
      summary.transactions.push({ step: 'deposit USDC', chain: B.name, hash: d2.txHash });
      const tLock = Date.now();
      await waitFor(
        'both LOCKs to be verified by the nodes and credited on C',
        async () => {
          const h = (await client.health()).find((x) => x.chain === C.name);
          return (h?.collaterals.length ?? 0) >= 2;
        },
        90_000,
      );
      summary.timings.depositToCreditMs = Date.now() - tLock;

      const unified = (await client.health()).find((x) => x.chain === C.name);
      step(
        4,
        `unified margin on ${C.name}: collateral value ${formatWad(unified?.collateralValue ?? 0n, 2)} USD after haircuts, from ${unified?.collaterals.map((x) => `${formatUnits(x.amount, x.decimals)} ${x.symbol} on ${x.srcChain}`).join(' + ')}`,
      );

      step(5, `the trader opens a 20 ETH long on ${C.name} (about 8x leverage)`);
      const open = await client.trade({ engine: C.name, size: '20' });
      summary.transactions.push({ step: 'open 20 ETH long', chain: C.name, hash: open.txHash });
      const before = (await client.health()).find((x) => x.chain === C.name);
      summary.health.before =
        before?.health === null || before === undefined ? null : formatWad(before.health, 4);
      say(`         health ${summary.health.before}`);

      step(6, `the ETH price falls from 2,000 to 1,830 USD on ${C.name}`);
      const deployer = manifest.accounts.find((a) => a.role === 'deployer')?.privateKey as string;
      const pc = rpc(C, providers);
      const feed = new Contract(
        C.tokens.find((t) => t.symbol === 'WETH')?.feed as string,
        readArtifact('SettableAggregator').abi,
        new NonceManager(new Wallet(deployer, pc)),
      );
      const priceTx = await (await feed.getFunction('setAnswer')(1830n * 10n ** 8n)).wait();
      const priceAt = Date.now();
      summary.transactions.push({ step: 'price update', chain: C.name, hash: priceTx?.hash as string });
      const dropped = (await client.health()).find((x) => x.chain === C.name);
      summary.health.afterPriceDrop =
        dropped?.health === null || dropped === undefined ? null : formatWad(dropped.health, 4);
      say(`         health ${summary.health.afterPriceDrop} < 1: liquidatable`);

      step(
        7,
        `one node liquidates the position on ${C.name} (partial first) and seizes the WETH on ${A.name}`,
      );
      const engine = new Contract(C.xmargin.engine as string, readArtifact('MarginEngine').abi, pc);
      const liquidated = await waitForEvent(
        engine,
        'Liquidated',
        trader,
        Number(priceTx?.blockNumber ?? 0),
        90_000,
      );
      summary.liquidation.latencyMs = Date.now() - priceAt;
      summary.liquidation.latencyBlocks = liquidated.blockNumber - Number(priceTx?.blockNumber ?? 0);
      summary.liquidation.txHash = liquidated.hash;
      summary.liquidation.liquidator = liquidated.liquidator;
      summary.liquidation.closeFraction = formatWad(liquidated.closeFraction, 4);
      summary.transactions.push({ step: 'liquidation', chain: C.name, hash: liquidated.hash });
      say(
        `         ${liquidated.liquidator} closed ${formatWad(liquidated.closeFraction * 100n, 1)}% of the position in block +${summary.liquidation.latencyBlocks} (${summary.liquidation.latencyMs} ms after the price update)`,
      );

      const vaultA = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, rpc(A, providers));
      const paid = await waitForPayout(vaultA, liquidated.liquidator, Number(0), 90_000);
      summary.liquidation.remotePayoutConfirmed = true;
      summary.liquidation.payoutLatencyMs = Date.now() - priceAt - (summary.liquidation.latencyMs ?? 0);
      const minedAt = (await pc.getBlock(liquidated.blockNumber))?.timestamp ?? 0;
      summary.liquidation.payoutLatencyBlocks =
        paid.blockNumber - (await blockAtTime(rpc(A, providers), minedAt));
      summary.liquidation.seized = formatUnits(paid.amount, 18);
      summary.transactions.push({ step: 'SEIZE paid out', chain: A.name, hash: paid.hash });
      say(
        `         ${formatUnits(paid.amount, 18)} WETH paid out to the liquidator on ${A.name} (${summary.liquidation.payoutLatencyMs} ms after the liquidation)`,
      );

      step(8, 'final state and invariant checks');
      const after = (await client.health()).find((x) => x.chain === C.name);
      summary.health.after =
        after?.health === null || after === undefined ? null : formatWad(after.health, 4);
      say(
        `         health on ${C.name}: ${summary.health.before} -> ${summary.health.afterPriceDrop} -> ${summary.health.after}`,
      );
      for (const col of after?.collaterals ?? [])
        say(`         remaining: ${formatUnits(col.amount, col.decimals)} ${col.symbol} on ${col.srcChain}`);
      summary.balances = await walletBalances(trader, [A, B], liquidated.liquidator, A, paid.hash, providers);
      say(
        `         trader wallet: ${summary.balances.trader.map((b) => `${b.amount} ${b.token} on ${b.chain}`).join(', ')}`,
      );
      const lb = summary.balances.liquidator;
      if (lb !== undefined)
        say(
          `         liquidator wallet: ${lb.beforePayout} -> ${lb.afterPayout} ${lb.token} on ${lb.chain} (before -> after the payout)`,
        );
      summary.invariants = await checkConservation(manifest, [trader], (c) => rpc(c, providers));
      const liquidations = await engine.queryFilter(
        engine.getEvent('Liquidated')(trader),
        Number(priceTx?.blockNumber ?? 0),
      );
      summary.invariants.push({
        name: 'exactly one liquidation for the unhealthy state',
        held: liquidations.length === 1,
        detail: `${liquidations.length} Liquidated event(s) on ${C.name} since the price update`,
      });
      for (const inv of summary.invariants)
        say(`         ${inv.held ? 'ok  ' : 'FAIL'} ${inv.name}: ${inv.detail}`);
      summary.ok = summary.invariants.every((i) => i.held) && summary.liquidation.remotePayoutConfirmed;
    } finally {
      client.destroy();
    }
  } catch (error) {
    failed = true;
    summary.error = error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
    say(`FAILED: ${summary.error}`);
  }
  summary.timings.totalMs = Date.now() - started;
  const ok = summary.ok && !failed;

  if (ok && flags.exit !== true && cluster !== undefined) {
    say('');
    say(
      `dashboard: ${cluster.nodes[0]?.apiUrl}/  (status: ${cluster.nodes[0]?.apiUrl}/status, metrics: ${cluster.nodes[0]?.apiUrl}/metrics)`,
    );
    say('the devnet and the nodes keep running; press Ctrl-C to stop');
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  }
  say('stopping the nodes and the chains ...');
  await cluster?.stopAll();
  for (const p of providers) p.destroy();
  await devnet?.stop();
  if (flags.keep === true) say(`working directory kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  if (flags.json === true) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else say(ok ? `done in ${(summary.timings.totalMs / 1000).toFixed(1)} s` : 'the story did not complete');
  return ok ? 0 : 1;
}

/**
 * The trader's wallet balance of each token it deposited (WETH on A, USDC on B), and the liquidator's
 * WETH on A in the block before its payout and now.
 */
async function walletBalances(
  trader: string,
  [A, B]: [ChainConfig, ChainConfig],
  liquidator: string,
  payoutChain: ChainConfig,
  payoutHash: string,
  providers: JsonRpcProvider[],
): Promise<Summary['balances']> {
  const erc20 = readArtifact('MockERC20').abi;
  const readers = new Map<string, JsonRpcProvider>();
  const reader = (chain: ChainConfig): JsonRpcProvider => {
    const p = readers.get(chain.name) ?? rpc(chain, providers);
    readers.set(chain.name, p);
    return p;
  };
  const balance = async (chain: ChainConfig, symbol: string, account: string, blockTag?: number) => {
    const token = chain.tokens.find((t) => t.symbol === symbol);
    if (token === undefined) throw new Error(`${chain.name} has no ${symbol}`);
    const contract = new Contract(token.address, erc20, reader(chain));
    const raw = (await contract.getFunction('balanceOf')(account, {
      blockTag: blockTag ?? 'latest',
    })) as bigint;
    return formatUnits(raw, token.decimals);
  };
  const receipt = await reader(payoutChain).getTransactionReceipt(payoutHash);
  if (receipt === null) throw new Error(`no receipt of the payout ${payoutHash} on ${payoutChain.name}`);
  return {
    trader: [
      { account: trader, chain: A.name, token: 'WETH', amount: await balance(A, 'WETH', trader) },
      { account: trader, chain: B.name, token: 'USDC', amount: await balance(B, 'USDC', trader) },
    ],
    liquidator: {
      account: liquidator,
      chain: payoutChain.name,
      token: 'WETH',
      beforePayout: await balance(payoutChain, 'WETH', liquidator, receipt.blockNumber - 1),
      afterPayout: await balance(payoutChain, 'WETH', liquidator),
    },
  };
}

function rpc(chain: ChainConfig, providers: JsonRpcProvider[]): JsonRpcProvider {
  const p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
    staticNetwork: true,
    pollingInterval: 250,
  });
  providers.push(p);
  return p;
}

/** The liquidator nodes pay in USDC on the engine chain: give each some (devnet tokens mint freely). */
async function fundLiquidators(
  manifest: DevnetManifest,
  engineChain: ChainConfig,
  providers: JsonRpcProvider[],
): Promise<void> {
  const deployer = manifest.accounts.find((a) => a.role === 'deployer')?.privateKey as string;
  const signer = new NonceManager(new Wallet(deployer, rpc(engineChain, providers)));
  const usdc = new Contract(
    engineChain.tokens.find((t) => t.symbol === 'USDC')?.address as string,
    readArtifact('MockERC20').abi,
    signer,
  );
  for (const a of manifest.accounts.filter((x) => x.role === 'attestor')) {
    await (await usdc.getFunction('mint')(a.address, parseUnits('1000000', 6))).wait();
  }
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

interface LiquidatedEvent {
  hash: string;
  blockNumber: number;
  liquidator: string;
  closeFraction: bigint;
}

async function waitForEvent(
  engine: Contract,
  name: 'Liquidated',
  account: Address,
  fromBlock: number,
  timeoutMs: number,
): Promise<LiquidatedEvent> {
  let found: LiquidatedEvent | undefined;
  await waitFor(
    'a node to liquidate the position',
    async () => {
      const logs = await engine.queryFilter(engine.getEvent(name)(account), fromBlock);
      const log = logs[0] as unknown as
        | {
            transactionHash: string;
            blockNumber: number;
            args: { liquidator: string; closeFraction: bigint };
          }
        | undefined;
      if (log === undefined) return false;
      found = {
        hash: log.transactionHash,
        blockNumber: log.blockNumber,
        liquidator: log.args.liquidator,
        closeFraction: log.args.closeFraction,
      };
      return true;
    },
    timeoutMs,
  );
  return found as LiquidatedEvent;
}

async function waitForPayout(
  vault: Contract,
  recipient: string,
  fromBlock: number,
  timeoutMs: number,
): Promise<{ hash: string; amount: bigint; blockNumber: number }> {
  let found: { hash: string; amount: bigint; blockNumber: number } | undefined;
  await waitFor(
    'the SEIZE to be paid out on the collateral chain',
    async () => {
      const logs = await vault.queryFilter(
        vault.getEvent('PaidOut')(null, null, null, null, null, null, recipient),
        fromBlock,
      );
      const log = logs.find(
        (l) => (l as unknown as { args: { kind: bigint } }).args.kind === 3n,
      ) as unknown as { transactionHash: string; blockNumber: number; args: { amount: bigint } } | undefined;
      if (log === undefined) return false;
      found = { hash: log.transactionHash, amount: log.args.amount, blockNumber: log.blockNumber };
      return true;
    },
    timeoutMs,
  );
  return found as { hash: string; amount: bigint; blockNumber: number };
}
