// A local xmargin network: N anvil chains, each with the real LayerZero v2 stack (EndpointV2, ULN302,
// xmargin's DVN with the attestor keys as signers, Executor, fee libs, price feed), xmargin's contracts,
// test assets, and every vault wired to every remote engine. Writes a DevnetManifest for the nodes.
//
// Per chain, from the deployer key (anvil account 0) through one NonceManager, in batches:
//   1. LayerZero stack + defaults            (relayer/devnet/layerzero.ts)
//   2. test tokens, feeds and adapters       (relayer/devnet/assets.ts)
//   3. xmargin contracts + risk parameters   (relayer/deploy/xmargin.ts, the CLI's code path)
//   4. wire: peers, options, libraries, ULN  (relayer/deploy/wire.ts, the CLI's code path)
//   5. balances for trader/liquidator/lp and LP liquidity in every market
// Chains boot in parallel; the steps of one chain run in order.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { type Anvil, startAnvil } from '../chain/anvil.ts';
import { ROOT, readArtifact } from '../chain/artifacts.ts';
import { TxSender } from '../chain/tx.ts';
import type { Address, ChainConfig, DevnetManifest, LayerZeroContracts } from '../config/types.ts';
import { wire } from '../deploy/wire.ts';
import { type CollateralSourceSpec, defaultWeightBounds, deployXmargin } from '../deploy/xmargin.ts';
import { accountCount, devAccounts } from './accounts.ts';
import { type ChainAssets, DEVNET_TOKENS, deployAssets, fundHolders } from './assets.ts';
import { deployLayerZero } from './layerzero.ts';

export const FIRST_EID = 40_101;
export const DEFAULT_MANIFEST_PATH = path.join(ROOT, 'config', 'devnet', 'manifest.json');

/** The forge artifacts startDevnet deploys from (xmargin's contracts and the test assets). */
export const DEVNET_ARTIFACTS = [
  'CollateralVault',
  'MarginEngine',
  'PerpMarket',
  'Rebalancer',
  'WeightGovernor',
  'ChainlinkPriceAdapter',
  'ERC4626PriceAdapter',
  'SettableAggregator',
  'MockERC20',
  'MockERC4626',
  'FeeOnTransferERC20',
] as const;
const MAX_UINT128 = (1n << 128n) - 1n;
const WAD = 10n ** 18n;
const ETH_PERP = 1;
const LP_LIQUIDITY = 1_000_000n * 10n ** 6n;
/** Seconds between two weight updates of one asset on the devnet. */
const WEIGHT_UPDATE_INTERVAL = 60n;

export interface DevnetOptions {
  /** Number of chains (default 3). */
  chains?: number;
  /** Seconds per block, or 'automine' (a block per transaction). Default 1. */
  blockTime?: number | 'automine';
  /** DVN multisig quorum (default 2) out of `attestors` signer keys (default 3). */
  quorum?: number;
  attestors?: number;
  /** Block confirmations in every ULN config (default 1). */
  confirmations?: number;
  /** Indices of chains that only hold collateral (no engine, no market). Default [0]: chain A. */
  collateralOnly?: number[];
  /** Where to write the manifest; null to skip. Default config/devnet/manifest.json. */
  manifestPath?: string | null;
  /** One line per step. Default: nothing. */
  log?: (line: string) => void;
}

export interface Devnet {
  manifest: DevnetManifest;
  manifestPath: string | null;
  /** Boot time in ms. */
  bootMs: number;
  /** Stops every anvil this devnet started. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Anvils started together mine in lockstep, which independent chains never do: a cross-chain step
 * would then always race the destination's block that is mined in the same instant as the source's.
 * Restarting each chain's interval timer (evm_setIntervalMining resets its phase) spreads the n
 * chains evenly over a slot, chain i at i/n of it. Returns the offsets, ms, joined for the log.
 */
async function staggerBlockPhases(providers: JsonRpcProvider[], blockTime: number): Promise<string> {
  const slotMs = blockTime * 1000;
  const t0 = Date.now();
  const offsets: number[] = [];
  for (const [i, provider] of providers.entries()) {
    const at = t0 + Math.round((i * slotMs) / providers.length);
    await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
    await provider.send('evm_setIntervalMining', [blockTime]);
    offsets.push(Date.now() - t0);
  }
  return offsets.join(' / ');
}

const chainName = (i: number): string => `devnet-${String.fromCharCode(97 + i)}`;

export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const n = options.chains ?? 3;
  const attestors = options.attestors ?? 3;
  const quorum = options.quorum ?? 2;
  const blockTime = options.blockTime ?? 1;
  const confirmations = options.confirmations ?? 1;
  const collateralOnly = new Set(options.collateralOnly ?? [0]);
  const log = options.log ?? (() => {});
  if (!Number.isInteger(n) || n < 1 || n > 26) throw new Error(`devnet: chains must be 1..26, got ${n}`);
  if (!Number.isInteger(quorum) || quorum < 1 || quorum > attestors) {
    throw new Error(`devnet: quorum must be 1..attestors (${attestors}), got ${quorum}`);
  }
  if (blockTime !== 'automine' && !(Number.isInteger(blockTime) && blockTime >= 1)) {
    throw new Error(
      `devnet: block time must be a whole number of seconds >= 1 or 'automine', got ${blockTime}`,
    );
  }

  const t0 = Date.now();
  const step = (what: string): void => log(`devnet: ${what} (${Date.now() - t0} ms)`);
  const accounts = devAccounts(attestors, accountCount(attestors));
  const deployer = accounts[0];
  if (deployer === undefined) throw new Error('devnet: no deployer account');
  const attestorAccounts = accounts.filter((a) => a.role === 'attestor');
  const signers = attestorAccounts.map((a) => a.address);
  const byRole = (role: string): Address => {
    const a = accounts.find((x) => x.role === role);
    if (a === undefined) throw new Error(`devnet: no ${role} account`);
    return a.address;
  };
  const lpAccount = accounts.find((a) => a.role === 'lp');

  const anvils: Anvil[] = [];
  const providers: JsonRpcProvider[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const p of providers) p.destroy();
    await Promise.all(anvils.map((a) => a.stop()));
  };

  try {
    const args = ['--accounts', String(accountCount(attestors)), '--gas-limit', '1000000000'];
    if (blockTime !== 'automine') args.push('--block-time', String(blockTime));
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const anvil = await startAnvil({ chainId: FIRST_EID + i, args });
        anvils[i] = anvil;
      }),
    );
    step(`${n} anvil chain(s) up (${blockTime === 'automine' ? 'automine' : `${blockTime} s blocks`})`);

    const eids = Array.from({ length: n }, (_, i) => FIRST_EID + i);
    const senders = anvils.map((anvil, i) => {
      const provider = new JsonRpcProvider(anvil.rpcUrl, anvil.chainId, {
        staticNetwork: true,
        pollingInterval: 100,
        batchMaxCount: 1,
        cacheTimeout: -1,
      });
      providers.push(provider);
      return new TxSender(new Wallet(deployer.privateKey, provider), { label: chainName(i) });
    });
    const sender = (i: number): TxSender => senders[i] as TxSender;

    // 1 + 2: LayerZero and test assets, every chain in parallel.
    const lzs: LayerZeroContracts[] = [];
    const assets: ChainAssets[] = [];
    await Promise.all(
      eids.map(async (eid, i) => {
        lzs[i] = await deployLayerZero(sender(i), {
          eid,
          remoteEids: eids.filter((e) => e !== eid),
          signers,
          quorum,
          admins: [deployer.address, ...signers],
          confirmations,
        });
        step(`${chainName(i)}: LayerZero v2 stack deployed and configured (DVN ${quorum}-of-${attestors})`);
        assets[i] = await deployAssets(sender(i), !collateralOnly.has(i));
        step(`${chainName(i)}: test tokens${collateralOnly.has(i) ? '' : ', feeds and adapters'} deployed`);
      }),
    );

    // 3: xmargin, with every chain's tokens as collateral sources of every engine.
    const uniqueAssets = Object.values(DEVNET_TOKENS).filter(
      (s, k, all) => all.findIndex((x) => x.assetId === s.assetId) === k,
    );
    const riskAssetIds = uniqueAssets.map((s) => s.assetId);
    const chains: ChainConfig[] = [];
    await Promise.all(
      eids.map(async (eid, i) => {
        const lz = lzs[i] as LayerZeroContracts;
        const mine = assets[i] as ChainAssets;
        const anvil = anvils[i] as Anvil;
        const hasEngine = !collateralOnly.has(i);
        const sources: CollateralSourceSpec[] = eids.flatMap((srcEid, j) =>
          (assets[j] as ChainAssets).tokens.map((t) => ({
            srcEid,
            token: t.address,
            assetId: DEVNET_TOKENS[t.symbol as keyof typeof DEVNET_TOKENS].assetId,
            decimals: t.decimals,
            creditCap: MAX_UINT128,
            bridgeCapacity: MAX_UINT128,
          })),
        );
        const usdc = mine.tokens.find((t) => t.symbol === 'USDC')?.address as Address;
        const adapter = (id: number): Address => mine.adapters.get(id) as Address;
        const xmargin = await deployXmargin({ name: chainName(i), eid, layerZero: lz }, sender(i), {
          vaultAssets: mine.tokens.map((t) => ({
            token: t.address,
            decimals: t.decimals,
            supplyCap: MAX_UINT128,
            outflowCapacity: MAX_UINT128,
          })),
          ...(hasEngine
            ? {
                engine: {
                  quoteToken: usdc,
                  riskAssets: uniqueAssets.map((s) => ({
                    assetId: s.assetId,
                    oracle: adapter(s.assetId),
                    weight: (s.weight * WAD) / 100n,
                  })),
                  sources,
                  // The nodes sign with the attestor keys (relayer/devnet/cluster.ts): they execute.
                  rebalancerExecutors: signers,
                  // Attested haircut updates: the attestor keys, the DVN's quorum, the risk module's bounds.
                  weightGovernor: {
                    signers,
                    quorum,
                    bounds: riskAssetIds.map((id) => defaultWeightBounds(id, WEIGHT_UPDATE_INTERVAL)),
                  },
                  markets: [
                    {
                      marketId: ETH_PERP,
                      oracle: adapter(DEVNET_TOKENS.WETH.assetId),
                      tradingFee: (5n * WAD) / 10_000n,
                      borrowRatePerSecond: 0n,
                      initialMargin: WAD / 10n,
                      maintenanceMargin: WAD / 20n,
                      openInterestCap: 100_000_000n * WAD,
                    },
                  ],
                },
              }
            : {}),
        });
        chains[i] = {
          name: chainName(i),
          chainId: anvil.chainId,
          eid,
          rpcUrls: [anvil.rpcUrl],
          confirmations,
          isPublic: false,
          layerZero: lz,
          xmargin,
          tokens: mine.tokens,
        };
        step(
          `${chainName(i)}: xmargin deployed (vault${hasEngine ? ', engine, ETH-PERP market, rebalancer, weight governor' : ''})`,
        );
      }),
    );

    // 4: wire, the same code path as `xmargin wire`.
    const signerMap = Object.fromEntries(chains.map((c, i) => [c.name, sender(i)]));
    const plan = await wire(chains, signerMap);
    step(`wired: ${plan.length} transaction(s) (peers, enforced options, libraries, ULN/executor configs)`);

    // 5: balances and LP liquidity.
    const holders = [byRole('trader'), byRole('liquidator'), byRole('lp')];
    await Promise.all(
      chains.map(async (c, i) => {
        await fundHolders(sender(i), c.tokens, holders);
        const market = c.xmargin.market;
        if (market !== undefined && lpAccount !== undefined) {
          const lp = new TxSender(new Wallet(lpAccount.privateKey, providers[i]), { label: `${c.name}/lp` });
          const usdc = c.tokens.find((t) => t.symbol === 'USDC')?.address as Address;
          await lp.call('approve market', usdc, readArtifact('MockERC20').abi, 'approve', [
            market,
            LP_LIQUIDITY,
          ]);
          await lp.call('depositLiquidity', market, readArtifact('PerpMarket').abi, 'depositLiquidity', [
            LP_LIQUIDITY,
          ]);
          await lp.flush();
        }
      }),
    );
    step('accounts funded, LP liquidity in every market');

    if (blockTime !== 'automine' && n > 1) {
      const offsets = await staggerBlockPhases(providers.slice(0, n), blockTime);
      step(`block phases staggered over each ${blockTime} s slot: ${offsets} ms`);
    }

    const manifest: DevnetManifest = {
      version: 1,
      createdAt: new Date().toISOString(),
      chains,
      dvn: { signers, quorum },
      accounts,
    };
    const manifestPath = options.manifestPath === undefined ? DEFAULT_MANIFEST_PATH : options.manifestPath;
    if (manifestPath !== null) {
      mkdirSync(path.dirname(manifestPath), { recursive: true });
      writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
      step(`manifest written to ${path.relative(process.cwd(), manifestPath) || manifestPath}`);
    }
    const bootMs = Date.now() - t0;
    return { manifest, manifestPath, bootMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
