// Gas of xmargin's key operations on the real LayerZero v2 stack (devnet: anvil chains, the sdk's
// EndpointV2/ULN302/DVN/Executor, three `xmargin node` processes verifying and delivering).
// Forge's TestHelperOz5 stores every packet in the test contract, which inflates send-side gas by
// ~290k per message; this measures what a user pays on a real chain instead.
//
//   node bench/gas.ts [--json]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Contract,
  Interface,
  JsonRpcProvider,
  MaxUint256,
  NonceManager,
  type TransactionReceipt,
  Wallet,
} from 'ethers';
import { ensureArtifacts, readArtifact, readLzArtifact } from '../relayer/chain/artifacts.ts';
import { HeadroomWallet } from '../relayer/chain/gas.ts';
import { lzReceiveOptions } from '../relayer/client/index.ts';
import type { ChainConfig } from '../relayer/config/types.ts';
import { createCluster } from '../relayer/devnet/cluster.ts';
import { startDevnet } from '../relayer/devnet/index.ts';

interface Figure {
  name: string;
  gas: number;
  target?: number;
  note?: string;
}

const json = process.argv.includes('--json');
const figures: Figure[] = [];
const print = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`bench/gas: timed out waiting for ${what}`);
}

// The OApp's lzReceive selector: lzReceive((uint32,bytes32,uint64),bytes32,bytes,address,bytes).
const OAPP_LZ_RECEIVE = new Interface([
  'function lzReceive((uint32 srcEid, bytes32 sender, uint64 nonce) origin, bytes32 guid, bytes message, address executor, bytes extraData)',
]).getFunction('lzReceive')?.selector as string;

const ENDPOINT_SEND = new Interface(readLzArtifact('EndpointV2').abi).getFunction('send')?.selector as string;

interface CallFrame {
  to?: string;
  input?: string;
  gasUsed?: string;
  calls?: CallFrame[];
}

/** Gas used inside the endpoint's call to the OApp's lzReceive (anvil's callTracer), 0 if not found. */
async function oappFrameGas(p: JsonRpcProvider, txHash: string): Promise<{ frame: number; sends: number }> {
  const root = (await p.send('debug_traceTransaction', [txHash, { tracer: 'callTracer' }])) as CallFrame;
  const find = (f: CallFrame): CallFrame | undefined =>
    f.input?.startsWith(OAPP_LZ_RECEIVE) === true ? f : f.calls?.map(find).find((x) => x !== undefined);
  const frame = root.calls?.map(find).find((x) => x !== undefined);
  const gas = (f: CallFrame | undefined) => (f?.gasUsed === undefined ? 0 : Number(BigInt(f.gasUsed)));
  // A MOVE's vault sends the onward LOCK from inside its lzReceive: LayerZero's send, not xmargin's handling.
  const sends = (frame?.calls ?? []).filter((c) => c.input?.startsWith(ENDPOINT_SEND) === true);
  return { frame: gas(frame), sends: sends.reduce((sum, c) => sum + gas(c), 0) };
}

async function main(): Promise<void> {
  await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20', 'SettableAggregator']);
  const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-gas-'));
  const manifestFile = path.join(dir, 'manifest.json');
  print('booting a 3-chain devnet and 3 nodes ...');
  const devnet = await startDevnet({ chains: 3, blockTime: 1, manifestPath: manifestFile });
  const cluster = await createCluster({ manifest: devnet.manifest, manifestFile, dir });
  const providers: JsonRpcProvider[] = [];
  try {
    await Promise.all(cluster.nodes.map((n) => cluster.start(n.index)));
    const [A, B, C] = devnet.manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    const key = (role: string, i = 0) =>
      devnet.manifest.accounts.filter((a) => a.role === role)[i]?.privateKey as string;
    const signer = (chain: ChainConfig, k: string) => {
      const p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
        staticNetwork: true,
        pollingInterval: 200,
      });
      providers.push(p);
      return new NonceManager(new HeadroomWallet(k, p));
    };
    const tokenOf = (chain: ChainConfig, s: string) =>
      chain.tokens.find((t) => t.symbol === s) as { address: string; feed?: string };
    const vaultAbi = readArtifact('CollateralVault').abi;
    const engineAbi = readArtifact('MarginEngine').abi;
    const marketAbi = readArtifact('PerpMarket').abi;
    const erc20Abi = readArtifact('MockERC20').abi;
    const feedAbi = readArtifact('SettableAggregator').abi;
    const gasOf = (r: TransactionReceipt | null) => Number(r?.gasUsed ?? 0n);

    const trader = key('trader');
    const traderA = signer(A, trader);
    const traderB = signer(B, trader);
    const traderAddr = new Wallet(trader).address;
    const wethA = tokenOf(A, 'WETH').address;
    const wethB = tokenOf(B, 'WETH').address;
    const vaultA = new Contract(A.xmargin.vault, vaultAbi, traderA);
    const engineB = new Contract(B.xmargin.engine as string, engineAbi, traderB);
    const marketB = new Contract(B.xmargin.market as string, marketAbi, traderB);
    const feedB = new Contract(tokenOf(B, 'WETH').feed as string, feedAbi, signer(B, key('deployer')));

    // Remote deposit: vault A -> LOCK -> engine B.
    await (
      await new Contract(wethA, erc20Abi, traderA).getFunction('approve')(A.xmargin.vault, 2n ** 255n)
    ).wait();
    const fee = (await vaultA.getFunction('quoteDeposit')(wethA, 2n * 10n ** 18n, 0n, B.eid, '0x')) as [
      bigint,
    ];
    const dep = await (
      await vaultA.getFunction('deposit')(wethA, 2n * 10n ** 18n, 0n, B.eid, '0x', { value: fee[0] })
    ).wait();
    figures.push({ name: 'remote deposit (vault -> LOCK)', gas: gasOf(dep) });
    await until(
      'LOCK credited on B',
      async () => ((await engineB.getFunction('creditOf')(traderAddr, 0n, A.eid, wethA)) as bigint) > 0n,
    );

    // A new sub-account's first LOCK, now that B holds credit from A's WETH: its credit and
    // collateral-list slots are new, the source's total and the replay word are not. What most first
    // deposits cost (the one above was B's first LOCK from A ever). Sub-account 1, a dust amount: the
    // positions and liquidations measured below are the same as without it.
    await (await vaultA.getFunction('deposit')(wethA, 10n ** 12n, 1n, B.eid, '0x', { value: fee[0] })).wait();
    await until(
      "a new sub-account's LOCK credited on B",
      async () => ((await engineB.getFunction('creditOf')(traderAddr, 1n, A.eid, wethA)) as bigint) > 0n,
    );

    // A top-up LOCK: the same account adds to the asset it already holds on B, so its credit and
    // collateral-list slots exist. The typical deposit; a dust amount, as above.
    const credited = (await engineB.getFunction('creditOf')(traderAddr, 0n, A.eid, wethA)) as bigint;
    await (await vaultA.getFunction('deposit')(wethA, 10n ** 12n, 0n, B.eid, '0x', { value: fee[0] })).wait();
    await until(
      'top-up LOCK credited on B',
      async () =>
        ((await engineB.getFunction('creditOf')(traderAddr, 0n, A.eid, wethA)) as bigint) > credited,
    );

    // Withdrawal request: engine B -> RELEASE -> vault A.
    const wfee = (await engineB.getFunction('quoteWithdraw')(A.eid, '0x')) as [bigint];
    const wd = await (
      await engineB.getFunction('withdraw')(0n, A.eid, wethA, 10n ** 17n, traderAddr, '0x', {
        value: wfee[0],
      })
    ).wait();
    figures.push({ name: 'withdrawal request (engine -> RELEASE)', gas: gasOf(wd) });

    // MOVE B -> C through vault A (for the MOVE lzReceive and the second-hop LOCK).
    const hop = (await vaultA.getFunction('quoteDeposit')(wethA, 10n ** 17n, 0n, C.eid, '0x')) as [bigint];
    const moveOpts = lzReceiveOptions(600_000n, hop[0] * 2n);
    const mfee = (await engineB.getFunction('quoteMove')(A.eid, moveOpts)) as [bigint];
    const mv = await (
      await engineB.getFunction('move')(0n, A.eid, wethA, 10n ** 17n, C.eid, moveOpts, { value: mfee[0] })
    ).wait();
    figures.push({ name: 'move request (engine -> MOVE)', gas: gasOf(mv) });

    // Local trader on B: local deposit, open a position, get liquidated with a local seizure.
    const spare = key('spare');
    const spareB = signer(B, spare);
    const spareAddr = new Wallet(spare).address;
    const wethBs = new Contract(wethB, erc20Abi, spareB);
    await (await wethBs.getFunction('mint')(spareAddr, 10n ** 18n)).wait();
    await (await wethBs.getFunction('approve')(B.xmargin.vault, 2n ** 255n)).wait();
    const ld = await (
      await new Contract(B.xmargin.vault, vaultAbi, spareB).getFunction('deposit')(
        wethB,
        10n ** 18n,
        0n,
        B.eid,
        '0x',
      )
    ).wait();
    figures.push({ name: 'local deposit (vault -> engine, same chain)', gas: gasOf(ld) });
    const open = await (
      await new Contract(B.xmargin.market as string, marketAbi, spareB).getFunction('trade')(
        0n,
        1,
        7n * 10n ** 18n,
        2n ** 255n,
      )
    ).wait();
    figures.push({ name: 'open position (7 ETH long)', gas: gasOf(open) });

    const liq = key('liquidator');
    const liqB = signer(B, liq);
    const liqAddr = new Wallet(liq).address;
    const usdcB = new Contract(tokenOf(B, 'USDC').address, erc20Abi, liqB);
    // As the node's liquidator does (relayer/liquidation/index.ts): one unlimited approval of the quote token.
    await (await usdcB.getFunction('approve')(B.xmargin.engine, MaxUint256)).wait();
    const engineL = new Contract(B.xmargin.engine as string, engineAbi, liqB);
    await (await feedB.getFunction('setAnswer')(1800n * 10n ** 8n)).wait();
    const local = await (
      await engineL.getFunction('liquidate')({
        account: spareAddr,
        subaccount: 0n,
        seizes: [{ srcEid: B.eid, token: wethB, maxRepay: 10_000n * 10n ** 6n, options: '0x' }],
        recipient: liqAddr,
      })
    ).wait();
    figures.push({
      name: 'local liquidation (close + local seizure)',
      gas: gasOf(local),
      target: 250_000,
      note: 'Aave v3 liquidationCall: 360k-494k',
    });

    // Remote-collateral trader: 12 ETH long on B backed by WETH locked on A; price falls; SEIZE to A.
    await (await feedB.getFunction('setAnswer')(2000n * 10n ** 8n)).wait();
    await (await marketB.getFunction('trade')(0n, 1, 12n * 10n ** 18n, 2n ** 255n)).wait();
    await (await feedB.getFunction('setAnswer')(1700n * 10n ** 8n)).wait();
    const sfee = (await engineB.getFunction('quoteSeize')(A.eid, '0x')) as [bigint];
    const remote = await (
      await engineL.getFunction('liquidate')(
        {
          account: traderAddr,
          subaccount: 0n,
          seizes: [{ srcEid: A.eid, token: wethA, maxRepay: 100_000n * 10n ** 6n, options: '0x' }],
          recipient: liqAddr,
        },
        { value: sfee[0] },
      )
    ).wait();
    figures.push({
      name: 'liquidation with a remote seizure (close + SEIZE)',
      gas: gasOf(remote),
      target: 393_000,
    });

    // A burst as the node's batcher sends it: BATCH sub-accounts like the local one above (1 WETH on
    // B, 7 ETH long), made liquidatable by one price move, liquidated by one liquidateBatch.
    const BATCH = 5;
    await (await feedB.getFunction('setAnswer')(2000n * 10n ** 8n)).wait();
    await (await wethBs.getFunction('mint')(spareAddr, BigInt(BATCH) * 10n ** 18n)).wait();
    const vaultBs = new Contract(B.xmargin.vault, vaultAbi, spareB);
    const marketBs = new Contract(B.xmargin.market as string, marketAbi, spareB);
    for (let sub = 1n; sub <= BigInt(BATCH); sub++) {
      await (await vaultBs.getFunction('deposit')(wethB, 10n ** 18n, sub, B.eid, '0x')).wait();
      await (await marketBs.getFunction('trade')(sub, 1, 7n * 10n ** 18n, 2n ** 255n)).wait();
    }
    await (await feedB.getFunction('setAnswer')(1800n * 10n ** 8n)).wait();
    const items = Array.from({ length: BATCH }, (_, i) => ({
      account: spareAddr,
      subaccount: BigInt(i + 1),
      seizes: [{ srcEid: B.eid, token: wethB, maxRepay: 10_000n * 10n ** 6n, options: '0x' }],
      recipient: liqAddr,
    }));
    const batch = await (
      await engineL.getFunction('liquidateBatch')(
        items,
        items.map(() => 0n),
      )
    ).wait();
    const landedInBatch = (batch?.logs ?? []).filter(
      (l: { topics: readonly string[] }) =>
        l.topics[0] === engineL.interface.getEvent('Liquidated')?.topicHash,
    ).length;
    if (landedInBatch !== BATCH) throw new Error(`liquidateBatch landed ${landedInBatch} of ${BATCH}`);
    figures.push({
      name: `local liquidation in a liquidateBatch of ${BATCH}, per sub-account`,
      gas: Math.round(gasOf(batch) / BATCH),
      target: 250_000,
    });

    // lzReceive of each message type: the executor's delivery transactions (endpoint.lzReceive).
    const endpointI = new Interface(readLzArtifact('EndpointV2').abi);
    const delivered = async (chain: ChainConfig, want: number) => {
      const p =
        providers.find((x) => (x._network?.chainId ?? 0n) === BigInt(chain.chainId)) ??
        new JsonRpcProvider(chain.rpcUrls[0]);
      const topic = endpointI.getEvent('PacketDelivered')?.topicHash as string;
      const out: { type: number; gas: number; inner: number; sends: number }[] = [];
      await until(
        `${want} deliveries on ${chain.name}`,
        async () => {
          out.length = 0;
          const logs = await p.getLogs({
            address: chain.layerZero.endpointV2,
            topics: [topic],
            fromBlock: 0,
          });
          for (const log of logs) {
            const tx = await p.getTransaction(log.transactionHash);
            const receipt = await p.getTransactionReceipt(log.transactionHash);
            const parsed = tx === null ? null : endpointI.parseTransaction({ data: tx.data });
            const message = parsed?.name === 'lzReceive' ? (parsed.args[3] as string) : undefined;
            if (message !== undefined)
              out.push({
                type: Number.parseInt(message.slice(4, 6), 16),
                gas: gasOf(receipt),
                ...(await oappFrameGas(p, log.transactionHash).then((g) => ({
                  inner: g.frame,
                  sends: g.sends,
                }))),
              });
          }
          return out.length >= want;
        },
        90_000,
      );
      return out;
    };
    const names: Record<number, string> = { 1: 'LOCK', 2: 'RELEASE', 3: 'SEIZE', 4: 'MOVE' };
    const seen = new Map<number, number>();
    const seenInner = new Map<number, number>();
    // B's deliveries, in order: B's first LOCK from A ever (the trader's first deposit), a new
    // sub-account's first LOCK, the trader's top-up.
    const [firstEver, firstOfAccount, topUp] = (await delivered(B, 3)).filter((d) => d.type === 1);
    let moveOwn = 0;
    for (const [chain, want] of [
      [B, 3],
      [A, 3],
      [C, 1],
    ] as const) {
      for (const d of await delivered(chain, want)) {
        seen.set(d.type, Math.max(seen.get(d.type) ?? 0, d.gas));
        if (d.type !== 1) seenInner.set(d.type, Math.max(seenInner.get(d.type) ?? 0, d.inner));
        if (d.type === 4) moveOwn = Math.max(moveOwn, d.inner - d.sends);
      }
    }
    const lock = (d: { inner: number } | undefined, name: string, note: string, target?: number) => {
      if (d !== undefined)
        figures.push({
          name: `lzReceive (the OApp's frame): ${name}`,
          gas: d.inner,
          note,
          ...(target === undefined ? {} : { target }),
        });
    };
    lock(
      firstOfAccount,
      "LOCK, a sub-account's first credit",
      'its credit and collateral-list slots are new; the source total and the replay word exist',
      80_000,
    );
    lock(topUp, 'LOCK top-up', 'the sub-account already holds this asset on the engine', 80_000);
    lock(
      firstEver,
      "LOCK, the engine's first from a source",
      "also the source's total and a replay word are new: once per (chain, token), and once per 256 of a vault's messages",
    );
    for (const [type, gas] of [...seenInner].sort((a, b) => a[0] - b[0])) {
      figures.push({
        name: `lzReceive (the OApp's frame): ${names[type] ?? type}`,
        gas,
        target: 80_000,
        note:
          type === 4
            ? "includes the vault's onward LayerZero send of the LOCK (endpoint + ULN + DVN/executor fees)"
            : "the largest of the bench's deliveries; the vault's first message from an engine also starts a replay word",
      });
    }
    if (moveOwn > 0)
      figures.push({
        name: "lzReceive (the OApp's frame): MOVE without its onward send",
        gas: moveOwn,
        target: 80_000,
        note: "the vault's own handling: the frame less the nested EndpointV2.send of the LOCK",
      });
    for (const [type, gas] of [...seen].sort((a, b) => a[0] - b[0])) {
      figures.push({
        name: `lzReceive delivery tx: ${names[type] ?? type}`,
        gas,
        note: 'whole tx the executor pays: 21k base + calldata + endpoint + OApp',
      });
    }
  } finally {
    await cluster.stopAll();
    for (const p of providers) p.destroy();
    await devnet.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  if (json) {
    for (const f of figures) process.stdout.write(`${JSON.stringify({ bench: 'gas', ...f, unit: 'gas' })}\n`);
  } else {
    print('');
    print('| operation | gas | target |');
    print('| --- | ---: | ---: |');
    for (const f of figures) {
      const target =
        f.target === undefined ? '' : `<= ${f.target.toLocaleString('en')}${f.gas <= f.target ? ' ✓' : ' ✗'}`;
      print(`| ${f.name} | ${f.gas.toLocaleString('en')} | ${target} |`);
    }
  }
}

await main();
