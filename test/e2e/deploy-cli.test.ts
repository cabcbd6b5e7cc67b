// `xmargin deploy` as a chain integrator runs it: one plain anvil with only a LayerZero EndpointV2,
// two mock tokens and two SettableAggregator feeds; a networks file naming them with an "engine"
// section (and a second, remote chain whose tokens must become collateral sources too); the CLI as a
// child process — first --dry-run, then for real. Then the chain is read back: risk assets on adapters
// over the feeds, collateral sources for every chain's tokens at the low default caps, the market and
// its risk, the liquidation rules, and the vault's asset configs at the low default caps.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, id, JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxSender } from '../../relayer/chain/tx.ts';
import type { Address } from '../../relayer/config/types.ts';
import { DEFAULT_CAPS } from '../../relayer/deploy/xmargin.ts';
import { type Anvil, startAnvil } from '../support/anvil.ts';
import { ensureArtifacts, ROOT, readArtifact, readLzArtifact } from '../support/artifacts.ts';

const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
const MAIN = path.join(ROOT, 'relayer', 'cli', 'main.ts');
const EID = 40_199;
const REMOTE_EID = 40_198;
// anvil's account 0.
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const WAD = 10n ** 18n;
const DAY = 86_400n;
// Tokens of the remote chain (never deployed: deploy only reads their addresses).
const REMOTE_USDC: Address = '0x00000000000000000000000000000000000000a1';
const REMOTE_WETH: Address = '0x00000000000000000000000000000000000000a2';
const REMOTE_DAI: Address = '0x00000000000000000000000000000000000000a3';

let anvil: Anvil | undefined;
let provider: JsonRpcProvider | undefined;
let dir = '';
let networksFile = '';
let keyFile = '';
let endpoint: Address;
let usdc: Address;
let weth: Address;
let ethFeed: Address;
let usdcFeed: Address;

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NODE_BIN, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('xmargin deploy: a whole network from the networks file', () => {
  beforeAll(async () => {
    await ensureArtifacts([
      'CollateralVault',
      'MarginEngine',
      'PerpMarket',
      'MockERC20',
      'SettableAggregator',
      'ChainlinkPriceAdapter',
      'Rebalancer',
      'WeightGovernor',
    ]);
    anvil = await startAnvil({ chainId: EID });
    provider = new JsonRpcProvider(anvil.rpcUrl, EID, { staticNetwork: true, pollingInterval: 100 });
    const wallet = new Wallet(DEPLOYER_KEY, provider);
    const tx = new TxSender(wallet, { label: 'test' });
    endpoint = await tx.deploy('EndpointV2', readLzArtifact('EndpointV2'), [EID, wallet.address]);
    const erc20 = readArtifact('MockERC20');
    usdc = await tx.deploy('USDC', erc20, ['USD Coin', 'USDC', 6]);
    weth = await tx.deploy('WETH', erc20, ['Wrapped Ether', 'WETH', 18]);
    const feed = readArtifact('SettableAggregator');
    ethFeed = await tx.deploy('ETH / USD', feed, [8, 2000n * 10n ** 8n, 'ETH / USD']);
    usdcFeed = await tx.deploy('USDC / USD', feed, [8, 10n ** 8n, 'USDC / USD']);
    await tx.flush();

    dir = mkdtempSync(path.join(tmpdir(), 'xmargin-deploy-'));
    keyFile = path.join(dir, 'deployer.key');
    writeFileSync(keyFile, `${DEPLOYER_KEY}\n`, { mode: 0o600 });
    // A local chain: LayerZero addresses given explicitly (no lzDeployment); only the endpoint is real.
    const lz = (ep: Address) => ({
      endpointV2: ep,
      sendUln302: ep,
      receiveUln302: ep,
      dvn: ep,
      executor: ep,
      priceFeed: ep,
      dvnFeeLib: ep,
      executorFeeLib: ep,
    });
    networksFile = path.join(dir, 'networks.json');
    writeFileSync(
      networksFile,
      JSON.stringify({
        version: 1,
        chains: [
          {
            name: 'local-engine',
            chainId: EID,
            eid: EID,
            rpcUrls: [anvil.rpcUrl],
            confirmations: 1,
            isPublic: false,
            // No xmargin DVN here yet (the example file's placeholder): deploy creates one.
            layerZero: { ...lz(endpoint), dvn: '0x0000000000000000000000000000000000000000' },
            tokens: [
              { symbol: 'USDC', address: usdc, decimals: 6 },
              { symbol: 'WETH', address: weth, decimals: 18 },
            ],
            engine: {
              quoteToken: 'USDC',
              riskAssets: {
                WETH: { weight: '0.8', feed: ethFeed, maxAge: 3600, depthUsd: 2_000_000 },
                USDC: { weight: '0.95', feed: usdcFeed },
              },
              markets: [
                {
                  id: 1,
                  symbol: 'ETH-PERP',
                  feed: ethFeed,
                  maxAge: 3600,
                  initialMargin: '0.1',
                  maintenanceMargin: '0.05',
                  openInterestCap: '1000000',
                  tradingFee: '0.0005',
                  borrowRatePerSecond: '0',
                },
              ],
              liquidation: { bonus: '0.04' },
              staleness: { graceSec: 120, decaySec: 600 },
            },
          },
          {
            name: 'remote',
            chainId: REMOTE_EID,
            eid: REMOTE_EID,
            rpcUrls: ['http://127.0.0.1:1'],
            confirmations: 1,
            isPublic: false,
            layerZero: lz('0x00000000000000000000000000000000000000b1'),
            tokens: [
              { symbol: 'USDC', address: REMOTE_USDC, decimals: 6 },
              { symbol: 'WETH', address: REMOTE_WETH, decimals: 18 },
              { symbol: 'DAI', address: REMOTE_DAI, decimals: 18 },
            ],
          },
        ],
        dvn: { signers: [wallet.address], quorum: 1 },
      }),
    );
  });

  afterAll(async () => {
    provider?.destroy();
    await anvil?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  let planned = 0;

  it('--dry-run prints the plan and sends nothing', async () => {
    const before = await provider?.getTransactionCount(new Wallet(DEPLOYER_KEY).address);
    const r = cli('deploy', '--network', 'local-engine', '--networks', networksFile, '--dry-run');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const last = lines.at(-1) ?? '';
    expect(last).toMatch(/^\d+ transaction\(s\) planned \(dry run\) on local-engine$/);
    planned = Number(last.split(' ')[0]);
    expect(lines).toHaveLength(planned + 1);
    // One adapter over the ETH feed, shared by WETH and ETH-PERP (same maxAge); one over the USDC feed.
    expect(lines.filter((l) => l.includes('deploy ChainlinkPriceAdapter'))).toEqual([
      `local-engine  deploy ChainlinkPriceAdapter  — feed ${ethFeed}, maxAge 3600 s, for WETH, ETH-PERP`,
      `local-engine  deploy ChainlinkPriceAdapter  — feed ${usdcFeed}, maxAge 86400 s, for USDC`,
    ]);
    // Sources: both chains' USDC and WETH; not the remote DAI (no risk asset of that symbol).
    expect(lines.filter((l) => l.includes('setCollateralSource'))).toHaveLength(4);
    // xmargin's DVN first, since layerZero.dvn is the zero address.
    expect(lines[0]).toMatch(
      /^local-engine {2}deploy DVN \(xmargin's verifier\) {2}— .*1 dvn\.signers, quorum 1, vid 10199/,
    );
    expect(lines[1]).toBe(`local-engine  dvn.setWorkerFeeLib  — LayerZero's DVNFeeLib ${endpoint}`);
    expect(r.stdout).not.toContain(REMOTE_DAI);
    expect(await provider?.getTransactionCount(new Wallet(DEPLOYER_KEY).address)).toBe(before);
  });

  it('deploys vault, adapters, engine and market, configured as declared', async () => {
    const r = cli('deploy', '--network', 'local-engine', '--networks', networksFile, '--key', keyFile);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`local-engine: ${planned} transaction(s) sent\n`);
    expect(r.stdout).toContain(`Paste under "xmargin" of chain "local-engine" in ${networksFile}:\n`);
    const dvnLine = r.stdout.match(
      /^local-engine: xmargin's DVN (0x[0-9a-fA-F]{40}): set it as "layerZero\.dvn"/m,
    );
    expect(dvnLine?.[1]).toMatch(/^0x/);
    const snippet = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {
      vault: Address;
      engine: Address;
      market: Address;
      rebalancer: Address;
      weightGovernor: Address;
    };
    expect(Object.keys(snippet)).toEqual(['vault', 'engine', 'market', 'rebalancer', 'weightGovernor']);
    const adapterOf = (feed: Address): string => {
      const m = r.stdout.match(new RegExp(`ChainlinkPriceAdapter (0x[0-9a-fA-F]{40}) \\(feed ${feed},`));
      if (m?.[1] === undefined) throw new Error(`no adapter line for ${feed} in:\n${r.stdout}`);
      return m[1];
    };
    const ethAdapter = adapterOf(ethFeed);
    const usdcAdapter = adapterOf(usdcFeed);

    const engine = new Contract(snippet.engine, readArtifact('MarginEngine').abi, provider);
    const vault = new Contract(snippet.vault, readArtifact('CollateralVault').abi, provider);
    const market = new Contract(snippet.market, readArtifact('PerpMarket').abi, provider);
    const adapter = new Contract(ethAdapter, readArtifact('ChainlinkPriceAdapter').abi, provider);

    // Risk assets: ids by position (WETH 1, USDC 2), weights, adapters over the feeds.
    expect([...(await engine.getFunction('riskAsset')(1))]).toEqual([
      ethAdapter,
      (8n * WAD) / 10n,
      true,
      2_000n,
    ]);
    expect([...(await engine.getFunction('riskAsset')(2))]).toEqual([
      usdcAdapter,
      (95n * WAD) / 100n,
      true,
      0n,
    ]);
    expect(await adapter.getFunction('price')()).toBe(2000n * WAD);

    // Collateral sources: every chain's USDC and WETH at the low default caps; the remote DAI not.
    const source = async (eid: number, token: Address) => [
      ...(await engine.getFunction('collateralSource')(eid, token)),
    ];
    // Staleness applies to the remote chain's sources only (grace 120 s, decay 600 s).
    const low = (assetId: number, decimals: number, stale = [0n, 0n]) => [
      BigInt(assetId),
      BigInt(decimals),
      true,
      ...stale,
      DEFAULT_CAPS.sourceCreditCap * 10n ** BigInt(decimals),
      DEFAULT_CAPS.sourceBridgeCapacity * 10n ** BigInt(decimals),
      DEFAULT_CAPS.sourceBridgeWindow,
    ];
    expect(await source(EID, weth)).toEqual(low(1, 18));
    expect(await source(EID, usdc)).toEqual(low(2, 6));
    expect(await source(REMOTE_EID, REMOTE_WETH)).toEqual(low(1, 18, [120n, 600n]));
    expect(await source(REMOTE_EID, REMOTE_USDC)).toEqual(low(2, 6, [120n, 600n]));
    expect((await source(REMOTE_EID, REMOTE_DAI))[2]).toBe(false);

    // The market and its risk; the venue, the local vault, the liquidation rules.
    expect([...(await engine.getFunction('marketRisk')(1))]).toEqual([
      WAD / 10n,
      WAD / 20n,
      1_000_000n * WAD,
      true,
    ]);
    expect(await engine.getFunction('venue')()).toBe(snippet.market);
    expect(await engine.getFunction('localVault')()).toBe(snippet.vault);
    expect(await market.getFunction('quoteToken')()).toBe(usdc);
    expect([...(await engine.getFunction('liquidationConfig')())]).toEqual([
      (4n * WAD) / 100n,
      (125n * WAD) / 100n,
      WAD / 2n,
      50n * WAD,
    ]);

    // The engine's Rebalancer (executors: the dvn signers) and WeightGovernor (dvn signers and quorum).
    const signer = new Wallet(DEPLOYER_KEY).address;
    const rebalancer = new Contract(snippet.rebalancer, readArtifact('Rebalancer').abi, provider);
    const governor = new Contract(snippet.weightGovernor, readArtifact('WeightGovernor').abi, provider);
    expect(await engine.getFunction('rebalancer')()).toBe(snippet.rebalancer);
    expect(await rebalancer.getFunction('isExecutor')(signer)).toBe(true);
    expect(await engine.getFunction('weightGovernor')()).toBe(snippet.weightGovernor);
    expect([...(await governor.getFunction('signers')())]).toEqual([signer]);
    expect([...(await governor.getFunction('bounds')(1))]).toEqual([
      WAD / 2n,
      (95n * WAD) / 100n,
      WAD / 20n,
      3_600n,
    ]);

    // xmargin's DVN: LayerZero's contract with the dvn signers and quorum, the deployer and signers as
    // admins (so wire can set its fee configs), LayerZero's DVNFeeLib of the chain as its fee library.
    const dvn = new Contract(dvnLine?.[1] as string, readLzArtifact('DVN').abi, provider);
    expect(await dvn.getFunction('vid')()).toBe(BigInt(EID % 30_000));
    expect(await dvn.getFunction('quorum')()).toBe(1n);
    expect(await dvn.getFunction('isSigner')(signer)).toBe(true);
    expect(await dvn.getFunction('hasRole')(id('ADMIN_ROLE'), signer)).toBe(true);
    expect(await dvn.getFunction('workerFeeLib')()).toBe(endpoint);

    // The vault accepts the chain's tokens at the low default caps.
    for (const [token, decimals] of [
      [usdc, 6n],
      [weth, 18n],
    ] as const) {
      expect([...(await vault.getFunction('assetConfig')(token))]).toEqual([
        true,
        DEFAULT_CAPS.vaultSupplyCap * 10n ** decimals,
        DEFAULT_CAPS.vaultOutflowCapacity * 10n ** decimals,
        DAY,
      ]);
    }
  });

  it('refuses to run without --key unless --dry-run, in one line', () => {
    const r = cli('deploy', '--network', 'local-engine', '--networks', networksFile);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "xmargin: deploy: missing --key <file> (the deployer's private key file) — add it, or pass --dry-run\n",
    );
  });
});
