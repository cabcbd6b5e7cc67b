// Boots a 3-chain devnet (automine) and proves it is wired for real: the LayerZero stack reads back
// its configuration, a deposit on chain A for the engine on chain B emits PacketSent with the xmargin
// DVN and the executor paid, and — acting as the attestors by hand (recipe §3.2-3.4) — the packet is
// verified by a quorum-signed DVN.execute, committed and delivered, after which the engine on B credits
// the deposit. Then `wire` run again plans nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  Contract,
  concat,
  getAddress,
  getBytes,
  Interface,
  JsonRpcProvider,
  keccak256,
  type Log,
  solidityPackedKeccak256,
  type TransactionReceipt,
  Wallet,
  zeroPadValue,
} from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact, readLzArtifact } from '../../relayer/chain/artifacts.ts';
import type { ChainLog } from '../../relayer/chain/rpc.ts';
import { loadDevnetManifest } from '../../relayer/config/load.ts';
import type { Address, ChainConfig, DevnetManifest, EngineConfig } from '../../relayer/config/types.ts';
import { wire } from '../../relayer/deploy/wire.ts';
import { DEFAULT_CAPS } from '../../relayer/deploy/xmargin.ts';
import { ASSET } from '../../relayer/devnet/assets.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { decodeLog } from '../../relayer/margin/decode.ts';

const TOPIC = {
  PacketSent: '0x1ab700d4ced0c005b164c0f789fd09fcbb0156d4c2041b8a3bfbcd961cd1567f',
  DVNFeePaid: '0x07ea52d82345d6e838192107d8fd7123d9c2ec8e916cd0aad13fd2b60db24644',
  ExecutorFeePaid: '0x61ed099e74a97a1d7f8bb0952a88ca8b7b8ebd00c126ea04671f92a81213318a',
  PayloadVerified: '0x2cb0eed7538baeae4c6fde038c0fd0384d27de0dd55a228c65847bda6aa1ab56',
  PacketVerified: '0x0d87345f3d1c929caba93e1c3821b54ff3512e12b66aa3cfe54b6bcbc17e59b4',
  PacketDelivered: '0x3cd5e48f9730b129dc7550f0fcea9c767b7be37837cd10e55eb35f734f4bca04',
} as const;

let devnet: Devnet | undefined;
let manifestDir: string | undefined;
let manifest: DevnetManifest;
const providers: JsonRpcProvider[] = [];

function provider(chain: ChainConfig): JsonRpcProvider {
  const p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
    staticNetwork: true,
    pollingInterval: 50,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  providers.push(p);
  return p;
}

function chainAt(i: number): ChainConfig {
  const c = manifest.chains[i];
  if (c === undefined) throw new Error(`no chain ${i}`);
  return c;
}

function key(role: string, index = 0): string {
  const a = manifest.accounts.filter((x) => x.role === role)[index];
  if (a === undefined) throw new Error(`no ${role} #${index}`);
  return a.privateKey;
}

beforeAll(async () => {
  await ensureArtifacts([
    'CollateralVault',
    'MarginEngine',
    'PerpMarket',
    'MockERC20',
    'Rebalancer',
    'WeightGovernor',
  ]);
  manifestDir = mkdtempSync(path.join(tmpdir(), 'xmargin-devnet-'));
  const manifestPath = path.join(manifestDir, 'manifest.json');
  devnet = await startDevnet({ chains: 3, blockTime: 'automine', quorum: 2, attestors: 3, manifestPath });
  // What the nodes will read: the written file validates and equals what startDevnet returned.
  manifest = loadDevnetManifest(manifestPath);
  expect(manifest).toEqual(devnet.manifest);
});

afterAll(async () => {
  for (const p of providers) p.destroy();
  await devnet?.stop();
  if (manifestDir !== undefined) rmSync(manifestDir, { recursive: true, force: true });
});

describe('devnet', () => {
  it('deploys the LayerZero stack on every chain and its configuration reads back', async () => {
    expect(manifest.chains.map((c) => c.eid)).toEqual([40101, 40102, 40103]);
    expect(new Set(manifest.chains.map((c) => c.chainId)).size).toBe(3);
    expect(manifest.chains[0]?.xmargin.engine).toBeUndefined();
    expect(manifest.dvn.quorum).toBe(2);
    expect(manifest.dvn.signers).toHaveLength(3);
    for (const chain of manifest.chains) {
      const p = provider(chain);
      const lz = chain.layerZero;
      for (const [name, address] of Object.entries(lz)) {
        if (typeof address !== 'string') continue;
        expect((await p.getCode(address)).length, `${chain.name} ${name} has code`).toBeGreaterThan(2);
      }
      const endpoint = new Contract(lz.endpointV2, readLzArtifact('EndpointV2').abi, p);
      const receiveUln = new Contract(lz.receiveUln302, readLzArtifact('ReceiveUln302').abi, p);
      const sendUln = new Contract(lz.sendUln302, readLzArtifact('SendUln302').abi, p);
      const dvn = new Contract(lz.dvn, readLzArtifact('DVN').abi, p);
      expect(Number(await endpoint.getFunction('eid')())).toBe(chain.eid);
      expect(Number(await dvn.getFunction('quorum')())).toBe(2);
      expect(Number(await dvn.getFunction('vid')())).toBe(chain.eid % 30_000);
      for (const signer of manifest.dvn.signers) {
        expect(await dvn.getFunction('signers')(signer)).toBe(true);
      }
      for (const remote of manifest.chains) {
        if (remote === chain) continue;
        expect(await endpoint.getFunction('defaultSendLibrary')(remote.eid)).toBe(lz.sendUln302);
        // The vault's own pinned libraries and ULN configs (set by wire).
        const vault = chain.xmargin.vault;
        if (remote.xmargin.engine !== undefined) {
          expect(await endpoint.getFunction('getSendLibrary')(vault, remote.eid)).toBe(lz.sendUln302);
          expect(await endpoint.getFunction('isDefaultSendLibrary')(vault, remote.eid)).toBe(false);
          const [recvLib, isDefault] = await endpoint.getFunction('getReceiveLibrary')(vault, remote.eid);
          expect([recvLib, isDefault]).toEqual([lz.receiveUln302, false]);
          for (const uln of [sendUln, receiveUln]) {
            const cfg = await uln.getFunction('getUlnConfig')(vault, remote.eid);
            expect(Number(cfg.confirmations)).toBe(1);
            expect([...cfg.requiredDVNs]).toEqual([lz.dvn]);
            expect([...cfg.optionalDVNs]).toEqual([]);
          }
          const [, executor] = await sendUln.getFunction('getExecutorConfig')(vault, remote.eid);
          expect(executor).toBe(lz.executor);
        }
      }
    }
  });

  it('delivers a deposit on A to the engine on B through the real DVN, ULN302 and endpoint', async () => {
    const a = chainAt(0);
    const b = chainAt(1);
    const pa = provider(a);
    const pb = provider(b);
    const trader = new Wallet(key('trader'), pa);
    const weth = a.tokens.find((t) => t.symbol === 'WETH');
    if (weth === undefined || b.xmargin.engine === undefined)
      throw new Error('devnet without WETH or engine B');
    const vault = new Contract(a.xmargin.vault, readArtifact('CollateralVault').abi, trader);
    const token = new Contract(weth.address, readArtifact('MockERC20').abi, trader);
    const amount = 3n * 10n ** 18n;

    // --- source chain: approve + deposit paying the quoted fee.
    await (await token.getFunction('approve')(a.xmargin.vault, amount)).wait();
    const fee = await vault.getFunction('quoteDeposit')(weth.address, amount, 0, b.eid, '0x');
    expect(fee.nativeFee).toBeGreaterThan(0n);
    const depositTx = await vault.getFunction('deposit')(weth.address, amount, 0, b.eid, '0x', {
      value: fee.nativeFee,
    });
    const receipt = (await depositTx.wait()) as TransactionReceipt;
    expect(receipt.status).toBe(1);

    const sendUlnI = new Interface(readLzArtifact('SendUln302').abi);
    const endpointI = new Interface(readLzArtifact('EndpointV2').abi);
    const byTopic = (topic: string): Log[] => receipt.logs.filter((l) => l.topics[0] === topic);
    const [packetLog] = byTopic(TOPIC.PacketSent);
    const [dvnLog] = byTopic(TOPIC.DVNFeePaid);
    const [execLog] = byTopic(TOPIC.ExecutorFeePaid);
    if (packetLog === undefined || dvnLog === undefined || execLog === undefined) {
      throw new Error(`missing LayerZero logs: ${receipt.logs.map((l) => l.topics[0]).join(', ')}`);
    }
    expect(getAddress(packetLog.address)).toBe(a.layerZero.endpointV2);
    const dvnFee = sendUlnI.parseLog(dvnLog);
    if (dvnFee === null) throw new Error('DVNFeePaid does not decode');
    expect(dvnLog.address).toBe(a.layerZero.sendUln302);
    expect([...(dvnFee.args[0] as string[])]).toEqual([a.layerZero.dvn]);
    expect((dvnFee.args[2] as bigint[])[0]).toBeGreaterThan(0n);
    const execFee = sendUlnI.parseLog(execLog);
    expect(execFee?.args[0]).toBe(a.layerZero.executor);
    const sent = endpointI.parseLog(packetLog);
    const encoded = getBytes(sent?.args[0] as string);
    expect(sent?.args[2]).toBe(a.layerZero.sendUln302);

    // --- decode the packet (PacketV1Codec): header = [0, 81), payload = guid ‖ message.
    const header = encoded.slice(0, 81);
    const payload = encoded.slice(81);
    const nonce = BigInt(`0x${Buffer.from(encoded.slice(1, 9)).toString('hex')}`);
    const srcEid = Number(`0x${Buffer.from(encoded.slice(9, 13)).toString('hex')}`);
    const sender = `0x${Buffer.from(encoded.slice(13, 45)).toString('hex')}`;
    const dstEid = Number(`0x${Buffer.from(encoded.slice(45, 49)).toString('hex')}`);
    const receiver = getAddress(`0x${Buffer.from(encoded.slice(61, 81)).toString('hex')}`);
    const guid = `0x${Buffer.from(payload.slice(0, 32)).toString('hex')}`;
    const message = `0x${Buffer.from(payload.slice(32)).toString('hex')}`;
    const payloadHash = keccak256(payload);
    expect([srcEid, dstEid, receiver]).toEqual([a.eid, b.eid, b.xmargin.engine]);
    expect(sender).toBe(zeroPadValue(a.xmargin.vault, 32).toLowerCase());

    // --- destination: quorum attestors sign ReceiveUln302.verify for the DVN on B (recipe §3.2).
    const receiveUlnI = new Interface(readLzArtifact('ReceiveUln302').abi);
    const callData = receiveUlnI.encodeFunctionData('verify', [header, payloadHash, 1]);
    const dvnB = new Contract(b.layerZero.dvn, readLzArtifact('DVN').abi, pb);
    const vid = Number(await dvnB.getFunction('vid')());
    const block = await pb.getBlock('latest');
    const expiration = BigInt((block?.timestamp ?? 0) + 3600);
    const hash = solidityPackedKeccak256(
      ['uint32', 'address', 'uint256', 'bytes'],
      [vid, b.layerZero.receiveUln302, expiration, callData],
    );
    expect(await dvnB.getFunction('hashCallData')(vid, b.layerZero.receiveUln302, callData, expiration)).toBe(
      hash,
    );
    const attestors = [0, 1, 2].map((i) => new Wallet(key('attestor', i)));
    const quorum = attestors
      .slice(0, manifest.dvn.quorum)
      .sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1));
    // EIP-191 personal message over the 32 raw bytes of the hash.
    const signatures = concat(quorum.map((w) => w.signMessageSync(getBytes(hash))));
    const submitter = new Wallet(key('attestor', 2), pb);
    const execTx = await (dvnB.connect(submitter) as Contract).getFunction('execute')([
      [vid, b.layerZero.receiveUln302, callData, expiration, signatures],
    ]);
    const execReceipt = (await execTx.wait()) as TransactionReceipt;
    expect(execReceipt.logs.map((l) => l.topics[0])).toContain(TOPIC.PayloadVerified);

    // --- commit (permissionless) and deliver through the endpoint (recipe §3.3-3.4).
    const anyone = new Wallet(key('spare'), pb);
    const receiveUln = new Contract(b.layerZero.receiveUln302, readLzArtifact('ReceiveUln302').abi, anyone);
    const commit = (await (
      await receiveUln.getFunction('commitVerification')(header, payloadHash)
    ).wait()) as TransactionReceipt;
    expect(commit.logs.map((l) => l.topics[0])).toContain(TOPIC.PacketVerified);
    const endpointB = new Contract(b.layerZero.endpointV2, endpointI, anyone);
    const origin = [srcEid, sender, nonce];
    const delivered = (await (
      await endpointB.getFunction('lzReceive')(origin, receiver, guid, message, '0x', { gasLimit: 1_000_000 })
    ).wait()) as TransactionReceipt;
    expect(delivered.logs.map((l) => l.topics[0])).toContain(TOPIC.PacketDelivered);

    const engine = new Contract(b.xmargin.engine, readArtifact('MarginEngine').abi, pb);
    expect(await engine.getFunction('creditOf')(trader.address, 0, a.eid, weth.address)).toBe(amount);
  });

  it("connects a Rebalancer to every engine, with the nodes' signers as executors", async () => {
    expect(manifest.chains[0]?.xmargin.rebalancer).toBeUndefined();
    for (const chain of manifest.chains.slice(1)) {
      const { engine, rebalancer } = chain.xmargin;
      if (engine === undefined || rebalancer === undefined) throw new Error(`${chain.name}: no rebalancer`);
      const p = provider(chain);
      const rb = new Contract(rebalancer, readArtifact('Rebalancer').abi, p);
      expect(await rb.getFunction('engine')()).toBe(engine);
      expect(
        await new Contract(engine, readArtifact('MarginEngine').abi, p).getFunction('rebalancer')(),
      ).toBe(rebalancer);
      for (const signer of manifest.dvn.signers)
        expect(await rb.getFunction('isExecutor')(signer)).toBe(true);
      expect(await rb.getFunction('isExecutor')(manifest.accounts[0]?.address)).toBe(false);
    }
  });

  it('lets a quorum of the attestor keys move a weight through the WeightGovernor, within its bounds', async () => {
    const b = chainAt(1);
    const { engine, weightGovernor } = b.xmargin;
    if (engine === undefined || weightGovernor === undefined) throw new Error('devnet B: no weight governor');
    const pb = provider(b);
    const submitter = new Wallet(key('spare'), pb);
    const governor = new Contract(weightGovernor, readArtifact('WeightGovernor').abi, submitter);
    const engineC = new Contract(engine, readArtifact('MarginEngine').abi, pb);
    expect(await engineC.getFunction('weightGovernor')()).toBe(weightGovernor);
    expect(Number(await governor.getFunction('quorum')())).toBe(manifest.dvn.quorum);
    expect([...(await governor.getFunction('signers')())]).toEqual(manifest.dvn.signers);

    const wethId = 1;
    const before = (await engineC.getFunction('riskAsset')(wethId)).weight as bigint;
    const weight = before - 5n * 10n ** 16n; // one full step (0.05) down
    const deadline = BigInt((await pb.getBlock('latest'))?.timestamp ?? 0) + 600n;
    const domain = {
      name: 'xmargin WeightGovernor',
      version: '1',
      chainId: b.chainId,
      verifyingContract: weightGovernor,
    };
    const types = {
      WeightUpdate: [
        { name: 'assetId', type: 'uint16' },
        { name: 'weight', type: 'uint64' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    };
    const value = { assetId: wethId, weight, nonce: await governor.getFunction('nonces')(wethId), deadline };
    const quorum = [0, 1, 2]
      .map((i) => new Wallet(key('attestor', i)))
      .sort((x, y) => (BigInt(x.address) < BigInt(y.address) ? -1 : 1))
      .slice(0, manifest.dvn.quorum);
    const signatures = await Promise.all(quorum.map((w) => w.signTypedData(domain, types, value)));
    const receipt = (await (
      await governor.getFunction('updateWeight')(wethId, weight, deadline, signatures)
    ).wait()) as TransactionReceipt;
    expect(receipt.status).toBe(1);
    expect((await engineC.getFunction('riskAsset')(wethId)).weight).toBe(weight);
    // The engine's RiskAssetSet, decoded by the margin view's own decoder, carries the new weight.
    const events = receipt.logs
      .filter((l) => getAddress(l.address) === engine)
      // decodeLog reads only topics and data.
      .map((l) => decodeLog('engine', { topics: [...l.topics], data: l.data } as ChainLog));
    expect(events).toContainEqual({
      type: 'RiskAssetSet',
      assetId: wethId,
      oracle: (await engineC.getFunction('riskAsset')(wethId)).oracle.toLowerCase(),
      weight,
      enabled: true,
      depth: 0,
    });
  });

  it('wire is idempotent: run again, it plans no transaction', async () => {
    const signers = Object.fromEntries(
      manifest.chains.map((c) => [c.name, new Wallet(key('deployer'), provider(c))]),
    );
    const plan = await wire(manifest.chains, signers, { dryRun: true });
    expect(plan).toEqual([]);
  });

  it("wire gives xmargin's DVN the fee config a destination lacks, then plans nothing again", async () => {
    const [a, b] = manifest.chains as [ChainConfig, ChainConfig];
    const signers = Object.fromEntries(
      manifest.chains.map((c) => [c.name, new Wallet(key('deployer'), provider(c))]),
    );
    // As on a DVN that `xmargin deploy` just created: no fee config for b, so nothing could be quoted to b.
    const dvnA = new Contract(a.layerZero.dvn, readLzArtifact('DVN').abi, signers[a.name]);
    await (await dvnA.getFunction('setDstConfig')([[b.eid, 0n, 0, 0n]])).wait();

    const plan = await wire(manifest.chains, signers, { dryRun: true });
    expect(plan.map((i) => [i.chain, i.contract, i.remotes])).toEqual([[a.name, 'dvn', [b.name]]]);
    expect(plan[0]?.reason).toBe(`xmargin's DVN has no fee config for ${b.name}(${b.eid})`);

    await wire(manifest.chains, signers);
    expect([...(await dvnA.getFunction('dstConfig')(b.eid))]).toEqual([5_000n, 10_000n, 0n]);
    expect(await wire(manifest.chains, signers, { dryRun: true })).toEqual([]);
  });

  it("wire adds the collateral sources an engine's networks-file section names and it lacks, at the low caps", async () => {
    const e = manifest.chains.find((c) => c.xmargin.engine !== undefined) as ChainConfig;
    const a = manifest.chains[0] as ChainConfig;
    const wbtcA = a.tokens.find((t) => t.symbol === 'WBTC') as { address: Address; decimals: number };
    const signers = Object.fromEntries(
      manifest.chains.map((c) => [c.name, new Wallet(key('deployer'), provider(c))]),
    );
    const engine = new Contract(
      e.xmargin.engine as string,
      readArtifact('MarginEngine').abi,
      signers[e.name],
    );
    // As for a chain added to the file after the engine was deployed: the engine does not take a's WBTC.
    const off = [ASSET.WBTC, 8, false, 0, 0, 0n, 0n, 86_400n];
    await (await engine.getFunction('setCollateralSource')(a.eid, wbtcA.address, off)).wait();
    // Only the fields wire reads from an engine section: its risk assets' symbols and ids.
    const section = { riskAssets: { WBTC: { assetId: ASSET.WBTC, weight: '0.7', feed: wbtcA.address } } };
    const chains = manifest.chains.map((c) =>
      c === e ? { ...c, engine: section as unknown as EngineConfig } : c,
    );

    const plan = await wire(chains, signers, { dryRun: true });
    expect(plan.map((i) => [i.chain, i.contract, i.call.split('(')[0]])).toEqual([
      [e.name, 'engine', 'setCollateralSource'],
    ]);
    expect(plan[0]?.reason).toContain(`WBTC from ${a.name}(${a.eid})`);

    await wire(chains, signers);
    expect([...(await engine.getFunction('collateralSource')(a.eid, wbtcA.address))]).toEqual([
      BigInt(ASSET.WBTC),
      8n,
      true,
      0n,
      0n,
      DEFAULT_CAPS.sourceCreditCap * 10n ** 8n,
      DEFAULT_CAPS.sourceBridgeCapacity * 10n ** 8n,
      DEFAULT_CAPS.sourceBridgeWindow,
    ]);
    expect(await wire(chains, signers, { dryRun: true })).toEqual([]);
  });

  it("wire applies the caps a networks file raises: a vault token's and an engine's sources of one asset", async () => {
    const e = manifest.chains.find((c) => c.xmargin.engine !== undefined) as ChainConfig;
    const a = manifest.chains[0] as ChainConfig;
    const signers = Object.fromEntries(
      manifest.chains.map((c) => [c.name, new Wallet(key('deployer'), provider(c))]),
    );
    const sourceCaps = { credit: '250000.5', bridgedPerDay: '25000' };
    const section = {
      riskAssets: { WBTC: { assetId: ASSET.WBTC, weight: '0.7', feed: a.xmargin.vault, sourceCaps } },
    };
    const chains = manifest.chains.map((c) => ({
      ...c,
      ...(c === e ? { engine: section as unknown as EngineConfig } : {}),
      tokens: c.tokens.map((t) =>
        c === a && t.symbol === 'WETH' ? { ...t, caps: { supply: '123456', outflowPerDay: '2345.5' } } : t,
      ),
    }));
    const wbtcs = manifest.chains.map(
      (c) => c.tokens.find((t) => t.symbol === 'WBTC') as { address: Address },
    );
    const wethA = a.tokens.find((t) => t.symbol === 'WETH') as { address: Address };

    const plan = await wire(chains, signers, { dryRun: true });
    expect(plan.map((i) => `${i.chain} ${i.contract}.${i.call.split('(')[0]}`).sort()).toEqual(
      [
        `${a.name} vault.setAssetConfig`,
        ...manifest.chains.map(() => `${e.name} engine.setCollateralSource`),
      ].sort(),
    );
    expect(plan.find((i) => i.contract === 'vault')?.reason).toMatch(
      /^WETH: supply cap \d+ -> 123456000000000000000000/,
    );

    await wire(chains, signers);
    const vaultA = new Contract(a.xmargin.vault, readArtifact('CollateralVault').abi, provider(a));
    expect([...(await vaultA.getFunction('assetConfig')(wethA.address))]).toEqual([
      true,
      123_456n * 10n ** 18n,
      23_455n * 10n ** 17n,
      86_400n,
    ]);
    const engine = new Contract(e.xmargin.engine as string, readArtifact('MarginEngine').abi, provider(e));
    for (const [i, c] of manifest.chains.entries()) {
      const src = await engine.getFunction('collateralSource')(c.eid, wbtcs[i]?.address);
      expect([src.enabled, src.creditCap, src.bridgeCapacity, src.bridgeWindow]).toEqual([
        true,
        25_000_050_000_000n,
        2_500_000_000_000n,
        86_400n,
      ]);
    }
    expect(await wire(chains, signers, { dryRun: true })).toEqual([]);
  });
});
