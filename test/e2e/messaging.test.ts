// The messaging layer live: a 3-chain devnet (1-second blocks) with the real LayerZero v2 stack, and
// three `xmargin node` processes (attestor + executor roles) talking libp2p over loopback. No test
// code touches the DVN, the ULN or the endpoint: every packet below is verified, committed and
// delivered by the nodes. Covers: a deposit on A credited on engine B; a withdrawal on B paid out on
// A; a MOVE from engine B to engine C through vault A, and one without the second hop's fee (pending,
// then flushed); quorum 2 of 3 with one node stopped; with two stopped the packet waits and lands once
// one returns (from its store).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbiCoder, Contract, type JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { lzReceiveOptions } from '../../relayer/client/index.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { type Cluster, createCluster } from '../support/cluster.ts';
import { providerPool } from '../support/e2e.ts';

const WAIT_MS = 45_000;

let devnet: Devnet | undefined;
let cluster: Cluster | undefined;
let workDir = '';
let manifest: DevnetManifest;
let chainA: ChainConfig;
let chainB: ChainConfig;
let chainC: ChainConfig;
const pool = providerPool();
const latencies: number[] = [];

const provider = (chain: ChainConfig): JsonRpcProvider => pool.provider(chain);

function token(chain: ChainConfig, symbol: string): string {
  const t = chain.tokens.find((x) => x.symbol === symbol);
  if (t === undefined) throw new Error(`${chain.name} has no ${symbol}`);
  return t.address;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = WAIT_MS): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

describe('messaging layer: devnet + 3 attestor nodes over libp2p', () => {
  let trader: { a: NonceManager; b: NonceManager; address: string };
  let vaultA: Contract;
  let engineB: Contract;
  let engineC: Contract;
  let wethA: Contract;

  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    workDir = mkdtempSync(path.join(tmpdir(), 'xmargin-messaging-'));
    const manifestFile = path.join(workDir, 'manifest.json');
    devnet = await startDevnet({ chains: 3, blockTime: 1, manifestPath: manifestFile });
    manifest = devnet.manifest;
    [chainA, chainB, chainC] = manifest.chains as [ChainConfig, ChainConfig, ChainConfig];
    cluster = await createCluster({ manifest, manifestFile, dir: workDir });
    await Promise.all(cluster.nodes.map((n) => cluster?.start(n.index)));

    const key = manifest.accounts.find((a) => a.role === 'trader')?.privateKey as string;
    const pa = provider(chainA);
    trader = {
      a: new NonceManager(new Wallet(key, pa)),
      b: new NonceManager(new Wallet(key, provider(chainB))),
      address: new Wallet(key).address,
    };
    vaultA = new Contract(chainA.xmargin.vault, readArtifact('CollateralVault').abi, trader.a);
    engineB = new Contract(chainB.xmargin.engine as string, readArtifact('MarginEngine').abi, trader.b);
    engineC = new Contract(
      chainC.xmargin.engine as string,
      readArtifact('MarginEngine').abi,
      provider(chainC),
    );
    wethA = new Contract(token(chainA, 'WETH'), readArtifact('MockERC20').abi, trader.a);
    await (await wethA.getFunction('mint')(trader.address, 100n * 10n ** 18n)).wait();
    await (await wethA.getFunction('approve')(chainA.xmargin.vault, 2n ** 256n - 1n)).wait();
  }, 240_000);

  afterAll(async () => {
    await cluster?.stopAll();
    pool.destroyAll();
    await devnet?.stop();
    if (workDir !== '' && process.env.XMARGIN_KEEP_TMP === undefined)
      rmSync(workDir, { recursive: true, force: true });
    if (latencies.length > 0) {
      const sorted = [...latencies].sort((x, y) => x - y);
      console.log(
        `deposit A -> credit on engine B: ${sorted.map((ms) => `${ms} ms`).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]} ms`,
      );
    }
  });

  async function depositAtoB(amount: bigint): Promise<{ before: bigint; sentAt: number }> {
    const weth = token(chainA, 'WETH');
    const before = (await engineB.getFunction('creditOf')(trader.address, 0n, chainA.eid, weth)) as bigint;
    const fee = (await vaultA.getFunction('quoteDeposit')(weth, amount, 0n, chainB.eid, '0x')) as [
      bigint,
      bigint,
    ];
    const sentAt = Date.now();
    await (await vaultA.getFunction('deposit')(weth, amount, 0n, chainB.eid, '0x', { value: fee[0] })).wait();
    return { before, sentAt };
  }

  async function creditOnB(): Promise<bigint> {
    return (await engineB.getFunction('creditOf')(
      trader.address,
      0n,
      chainA.eid,
      token(chainA, 'WETH'),
    )) as bigint;
  }

  it('a deposit on chain A is credited on engine B through the nodes (3 times, for the latency)', async () => {
    for (let i = 0; i < 3; i++) {
      const { before, sentAt } = await depositAtoB(10n ** 18n);
      await waitFor('credit on engine B', async () => (await creditOnB()) === before + 10n ** 18n);
      latencies.push(Date.now() - sentAt);
    }
    expect(await creditOnB()).toBe(3n * 10n ** 18n);
  });

  it('a withdrawal on engine B is paid out on chain A', async () => {
    const weth = token(chainA, 'WETH');
    const before = (await wethA.getFunction('balanceOf')(trader.address)) as bigint;
    const fee = (await engineB.getFunction('quoteWithdraw')(chainA.eid, '0x')) as [bigint, bigint];
    await (
      await engineB.getFunction('withdraw')(0n, chainA.eid, weth, 10n ** 18n, trader.address, '0x', {
        value: fee[0],
      })
    ).wait();
    await waitFor(
      'payout on A',
      async () => ((await wethA.getFunction('balanceOf')(trader.address)) as bigint) === before + 10n ** 18n,
    );
    expect(await vaultA.getFunction('locked')(trader.address, 0n, weth)).toBe(2n * 10n ** 18n);
  });

  it('a MOVE from engine B to engine C through vault A lands on C', async () => {
    const weth = token(chainA, 'WETH');
    const hop = (await vaultA.getFunction('quoteDeposit')(weth, 10n ** 18n, 0n, chainC.eid, '0x')) as [
      bigint,
      bigint,
    ];
    // Twice the quote: gas prices move between the quote and the second hop; the rest is refunded.
    const options = lzReceiveOptions(600_000n, hop[0] * 2n);
    const fee = (await engineB.getFunction('quoteMove')(chainA.eid, options)) as [bigint, bigint];
    await (
      await engineB.getFunction('move')(0n, chainA.eid, weth, 10n ** 18n, chainC.eid, options, {
        value: fee[0],
      })
    ).wait();
    await waitFor('credit on engine C', async () => {
      const credit = (await engineC.getFunction('creditOf')(trader.address, 0n, chainA.eid, weth)) as bigint;
      return credit === 10n ** 18n;
    });
    expect(await vaultA.getFunction('credit')(chainC.eid, trader.address, 0n, weth)).toBe(10n ** 18n);
    expect(await creditOnB()).toBe(10n ** 18n);
  });

  it('a MOVE sent with no fee for its second hop: the LOCK waits in vault A, and lands on C once flushed', async () => {
    // The enforced gas alone (no caller options) must carry the short-fee path: the vault tries the
    // onward send, the endpoint refuses it, and the LOCK is stored as pending, all in that lzReceive.
    const weth = token(chainA, 'WETH');
    const creditOnC = async () =>
      (await engineC.getFunction('creditOf')(trader.address, 0n, chainA.eid, weth)) as bigint;
    const onC = await creditOnC();
    const fromBlock = await provider(chainA).getBlockNumber();
    const fee = (await engineB.getFunction('quoteMove')(chainA.eid, '0x')) as [bigint, bigint];
    await (
      await engineB.getFunction('move')(0n, chainA.eid, weth, 10n ** 17n, chainC.eid, '0x', { value: fee[0] })
    ).wait();
    let lockId = '';
    await waitFor('the LOCK pending in vault A', async () => {
      const logs = await vaultA.queryFilter(vaultA.getEvent('LockPending'), fromBlock);
      lockId = (logs[0] as { args?: { id: string } } | undefined)?.args?.id ?? '';
      return lockId !== '';
    });
    expect(await vaultA.getFunction('credit')(chainC.eid, trader.address, 0n, weth)).toBe(11n * 10n ** 17n);
    expect(await creditOnC()).toBe(onC);
    // In one delivery: no transaction to A's endpoint reverted (out of gas) on the way.
    const pa = provider(chainA);
    for (let b = fromBlock; b <= (await pa.getBlockNumber()); b++) {
      for (const tx of (await pa.getBlock(b, true))?.prefetchedTransactions ?? []) {
        if (tx.to?.toLowerCase() !== chainA.layerZero.endpointV2.toLowerCase()) continue;
        expect((await pa.getTransactionReceipt(tx.hash))?.status, `delivery ${tx.hash}`).toBe(1);
      }
    }

    const hop = (await vaultA.getFunction('quoteDeposit')(weth, 10n ** 17n, 0n, chainC.eid, '0x')) as [
      bigint,
    ];
    await (await vaultA.getFunction('flushLock')(lockId, '0x', { value: hop[0] })).wait();
    await waitFor('the flushed LOCK credited on C', async () => (await creditOnC()) === onC + 10n ** 17n);
  });

  it('with one of three attestors stopped, packets still verify (quorum 2)', async () => {
    await cluster?.stop(2);
    const { before } = await depositAtoB(10n ** 17n);
    await waitFor('credit with 2 of 3 nodes', async () => (await creditOnB()) === before + 10n ** 17n);
  });

  it('with two stopped the packet waits, and lands once one restarts from its store', async () => {
    await cluster?.stop(1);
    const { before } = await depositAtoB(10n ** 17n);
    await new Promise((r) => setTimeout(r, 8_000));
    expect(await creditOnB()).toBe(before);
    await cluster?.start(1);
    await waitFor('credit after a node returned', async () => (await creditOnB()) === before + 10n ** 17n);
    await cluster?.start(2);
  });

  it('nothing was verified twice: every packet nonce has exactly one PacketDelivered', async () => {
    const endpointB = new Contract(
      chainB.layerZero.endpointV2,
      ['event PacketDelivered((uint32 srcEid, bytes32 sender, uint64 nonce) origin, address receiver)'],
      provider(chainB),
    );
    const events = await endpointB.queryFilter(endpointB.getEvent('PacketDelivered'), 0);
    const keys = events.map((e) => {
      const args = (e as unknown as { args: [[bigint, string, bigint], string] }).args;
      return AbiCoder.defaultAbiCoder().encode(['uint32', 'bytes32', 'uint64'], args[0]);
    });
    expect(keys.length).toBeGreaterThanOrEqual(5);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
