// Test assets of one devnet chain: mock tokens (anyone may mint) and, on chains with an engine,
// SettableAggregator feeds (8 decimals) behind the project's price adapters.

import { Interface } from 'ethers';
import { readArtifact } from '../chain/artifacts.ts';
import type { TxSender } from '../chain/tx.ts';
import type { Address, TokenDeployment } from '../config/types.ts';
import { NATIVE } from '../deploy/xmargin.ts';

const DAY = 86_400n;
const ZERO: Address = '0x0000000000000000000000000000000000000000';

/** The economic assets an engine prices; one id per asset, shared by the same token on every chain. */
export const ASSET = { WETH: 1, USDC: 2, WBTC: 3, YUSDC: 4, FOT: 5 } as const;
export type AssetSymbol = 'ETH' | 'WETH' | 'USDC' | 'WBTC' | 'yUSDC' | 'FOT';

/** Per token: decimals, the asset it counts as, its collateral weight (WAD) and its devnet price (8 dec.). */
export const DEVNET_TOKENS = {
  WETH: { decimals: 18, assetId: ASSET.WETH, weight: 80n, price: 2000_0000_0000n },
  USDC: { decimals: 6, assetId: ASSET.USDC, weight: 95n, price: 1_0000_0000n },
  WBTC: { decimals: 8, assetId: ASSET.WBTC, weight: 75n, price: 60_000_0000_0000n },
  yUSDC: { decimals: 6, assetId: ASSET.YUSDC, weight: 90n, price: 0n },
  FOT: { decimals: 18, assetId: ASSET.FOT, weight: 50n, price: 1_0000_0000n },
  ETH: { decimals: 18, assetId: ASSET.WETH, weight: 80n, price: 0n },
} as const;

export interface ChainAssets {
  tokens: TokenDeployment[];
  /** Price adapter per asset id (engine chains only). */
  adapters: Map<number, Address>;
}

/** Deploys WETH, USDC, WBTC, yUSDC (ERC-4626 over USDC), FOT (1% fee on transfer); feeds when `priced`. */
export async function deployAssets(tx: TxSender, priced: boolean): Promise<ChainAssets> {
  const erc20 = readArtifact('MockERC20');
  const weth = await tx.deploy('WETH', erc20, ['Wrapped Ether', 'WETH', 18]);
  const usdc = await tx.deploy('USDC', erc20, ['USD Coin', 'USDC', 6]);
  const wbtc = await tx.deploy('WBTC', erc20, ['Wrapped Bitcoin', 'WBTC', 8]);
  const yusdc = await tx.deploy('yUSDC', readArtifact('MockERC4626'), [usdc, 'Yield USDC', 'yUSDC']);
  const fot = await tx.deploy('FOT', readArtifact('FeeOnTransferERC20'), [
    'Fee-on-transfer USD',
    'FOT',
    18,
    100,
  ]);
  const tokens: TokenDeployment[] = [
    { symbol: 'WETH', address: weth, decimals: 18 },
    { symbol: 'USDC', address: usdc, decimals: 6 },
    { symbol: 'WBTC', address: wbtc, decimals: 8 },
    { symbol: 'yUSDC', address: yusdc, decimals: 6 },
    { symbol: 'FOT', address: fot, decimals: 18 },
    { symbol: 'ETH', address: NATIVE, decimals: 18 },
  ];
  const adapters = new Map<number, Address>();
  if (priced) {
    const feedArt = readArtifact('SettableAggregator');
    const adapterArt = readArtifact('ChainlinkPriceAdapter');
    const feeds: Record<string, Address> = {};
    for (const [symbol, label] of [
      ['WETH', 'ETH / USD'],
      ['USDC', 'USDC / USD'],
      ['WBTC', 'BTC / USD'],
      ['FOT', 'FOT / USD'],
    ] as const) {
      const spec = DEVNET_TOKENS[symbol];
      const feed = await tx.deploy(`${label} feed`, feedArt, [8, spec.price, label]);
      feeds[symbol] = feed;
      adapters.set(spec.assetId, await tx.deploy(`${label} adapter`, adapterArt, [feed, DAY, ZERO, 0, 0]));
    }
    const usdcAdapter = adapters.get(ASSET.USDC) as Address;
    adapters.set(
      ASSET.YUSDC,
      await tx.deploy('yUSDC adapter', readArtifact('ERC4626PriceAdapter'), [yusdc, usdcAdapter]),
    );
    for (const t of tokens) {
      const feed = feeds[t.symbol === 'ETH' ? 'WETH' : t.symbol];
      if (feed !== undefined) t.feed = feed;
      const spec = DEVNET_TOKENS[t.symbol as AssetSymbol];
      const adapter = adapters.get(spec.assetId);
      if (adapter !== undefined) t.priceAdapter = adapter;
    }
  }
  for (const t of tokens) t.assetId = DEVNET_TOKENS[t.symbol as AssetSymbol].assetId;
  await tx.flush();
  return { tokens, adapters };
}

/** Mints test balances to `holders` (yUSDC through a real ERC-4626 deposit by the sender). */
export async function fundHolders(
  tx: TxSender,
  tokens: TokenDeployment[],
  holders: Address[],
): Promise<void> {
  const erc20 = new Interface(readArtifact('MockERC20').abi);
  const erc4626 = new Interface(readArtifact('MockERC4626').abi);
  const amounts: Record<string, bigint> = {
    WETH: 1_000n * 10n ** 18n,
    USDC: 10_000_000n * 10n ** 6n,
    WBTC: 100n * 10n ** 8n,
    FOT: 1_000_000n * 10n ** 18n,
  };
  const byS = new Map(tokens.map((t) => [t.symbol, t.address]));
  for (const who of holders) {
    for (const [symbol, amount] of Object.entries(amounts)) {
      const token = byS.get(symbol);
      if (token !== undefined) await tx.call(`mint ${symbol}`, token, erc20, 'mint', [who, amount]);
    }
  }
  const usdc = byS.get('USDC');
  const yusdc = byS.get('yUSDC');
  if (usdc !== undefined && yusdc !== undefined && holders.length > 0) {
    const each = 100_000n * 10n ** 6n;
    const me = await tx.address();
    await tx.call('mint USDC for yUSDC', usdc, erc20, 'mint', [me, each * BigInt(holders.length)]);
    await tx.call('approve yUSDC', usdc, erc20, 'approve', [yusdc, each * BigInt(holders.length)]);
    for (const who of holders) await tx.call('yUSDC.deposit', yusdc, erc4626, 'deposit', [each, who]);
  }
  await tx.flush();
}
