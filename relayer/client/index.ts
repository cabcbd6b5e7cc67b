// The typed TypeScript client of xmargin: what a trader, a bot or a front end does — quotes, deposits,
// withdrawals, moves, trades, positions and health — over ethers v6. The CLI is a thin layer on it.
// Chains and tokens are named as in the networks file or devnet manifest ("devnet-a", "WETH"), and
// amounts are human decimals ("1.5"), converted with the token's decimals.

import {
  type AbstractSigner,
  Contract,
  formatUnits,
  JsonRpcProvider,
  NonceManager,
  parseUnits,
  solidityPacked,
  Wallet,
} from 'ethers';
import { readArtifact } from '../chain/artifacts.ts';
import { HeadroomWallet } from '../chain/gas.ts';
import type { Address, ChainConfig, Hex, TokenDeployment } from '../config/types.ts';

const WAD = 10n ** 18n;
const MAX_UINT = 2n ** 256n - 1n;
export const NATIVE: Address = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE';

/** Raised for bad input: the message names the argument and the fix. */
export class ClientError extends Error {
  override name = 'ClientError';
}

export interface EngineHealth {
  chain: string;
  engineEid: number;
  collateralValue: bigint;
  equity: bigint;
  maintenanceRequirement: bigint;
  initialRequirement: bigint;
  notional: bigint;
  /** WAD; null when there is no requirement (unbounded). */
  health: bigint | null;
  collaterals: {
    srcChain: string;
    srcEid: number;
    token: string;
    symbol: string;
    amount: bigint;
    decimals: number;
  }[];
}

export interface PositionInfo {
  chain: string;
  marketId: number;
  size: bigint;
  markPrice: bigint;
  unrealizedPnl: bigint;
  entryPrice: bigint;
}

/** What a trade would do, read before it is sent (`quoteTrade`, `quoteClose`). USD figures are WAD. */
export interface TradeQuote {
  chain: string;
  marketId: number;
  /** Signed size of the trade (base units, WAD): positive buys, negative sells. */
  size: bigint;
  positionBefore: bigint;
  positionAfter: bigint;
  /** The market's oracle price now: the trade fills at the oracle price of its block. */
  oraclePrice: bigint;
  /** Worst price the trade accepts (highest for a buy, lowest for a sell); null: any price. */
  acceptablePrice: bigint | null;
  /** Fraction of the traded notional charged as fee (WAD). */
  feeRate: bigint;
  /** The trading fee at the oracle price, rounded up as the market charges it. */
  tradingFee: bigint;
  /** The sub-account's equity and initial-margin requirement on this engine after the trade. */
  equityAfter: bigint;
  initialRequirementAfter: bigint;
  /**
   * equityAfter / initialRequirementAfter (WAD); null when nothing is required. Below 1 the engine
   * refuses a trade that adds risk (BelowInitialMargin).
   */
  initialHealthAfter: bigint | null;
}

export interface TxResult {
  txHash: Hex;
  fee: bigint;
  gasUsed: bigint;
}

export interface XmarginClient {
  readonly address: Address;
  readonly chains: ChainConfig[];
  chain(name: string): ChainConfig;
  token(chain: string, symbol: string): TokenDeployment;
  quoteDeposit(p: DepositParams): Promise<bigint>;
  deposit(p: DepositParams): Promise<TxResult>;
  quoteWithdraw(p: WithdrawParams): Promise<bigint>;
  withdraw(p: WithdrawParams): Promise<TxResult>;
  quoteMove(p: MoveParams): Promise<{ fee: bigint; hopFee: bigint }>;
  move(p: MoveParams): Promise<TxResult>;
  quoteTrade(p: TradeParams): Promise<TradeQuote>;
  trade(p: TradeParams): Promise<TxResult>;
  quoteClose(p: CloseParams): Promise<TradeQuote>;
  close(p: CloseParams): Promise<TxResult>;
  positions(account?: Address, subaccount?: bigint): Promise<PositionInfo[]>;
  health(account?: Address, subaccount?: bigint): Promise<EngineHealth[]>;
  destroy(): void;
}

export interface DepositParams {
  /** Chain of the vault (where the collateral is locked). */
  chain: string;
  token: string;
  amount: string;
  /** Chain of the engine that credits it. */
  engine: string;
  subaccount?: bigint;
}

export interface WithdrawParams {
  engine: string;
  /** Chain where the collateral is locked (and paid out). */
  from: string;
  token: string;
  amount: string;
  recipient?: Address;
  subaccount?: bigint;
}

export interface MoveParams {
  engine: string;
  from: string;
  token: string;
  amount: string;
  to: string;
  subaccount?: bigint;
}

export interface TradeParams {
  engine: string;
  marketId?: number;
  /** Signed base size, e.g. "2.5" (long) or "-1" (short). */
  size: string;
  /** Worst acceptable price in USD; default: any price (the trade fills at the oracle price). */
  acceptablePrice?: string;
  subaccount?: bigint;
}

export interface CloseParams {
  engine: string;
  marketId?: number;
  subaccount?: bigint;
}

const mulWadUp = (a: bigint, b: bigint): bigint => (a * b + WAD - 1n) / WAD;
const abs = (x: bigint): bigint => (x < 0n ? -x : x);
const PRICE_ADAPTER_ABI = ['function price() view returns (uint256)'];

/** Type-3 options with one executor lzReceive option. */
export function lzReceiveOptions(gas: bigint, value = 0n): Hex {
  const data =
    value === 0n ? solidityPacked(['uint128'], [gas]) : solidityPacked(['uint128', 'uint128'], [gas, value]);
  return solidityPacked(
    ['uint16', 'uint8', 'uint16', 'uint8', 'bytes'],
    [3, 1, (data.length - 2) / 2 + 1, 1, data],
  ) as Hex;
}

export function createClient(options: { chains: ChainConfig[]; privateKey: string }): XmarginClient {
  const providers = new Map<string, JsonRpcProvider>();
  const signers = new Map<string, AbstractSigner>();
  const address = new Wallet(options.privateKey).address as Address;
  const abi = {
    vault: readArtifact('CollateralVault').abi,
    engine: readArtifact('MarginEngine').abi,
    market: readArtifact('PerpMarket').abi,
    erc20: readArtifact('MockERC20').abi,
  };

  const chain = (name: string): ChainConfig => {
    const c = options.chains.find((x) => x.name === name || String(x.eid) === name);
    if (c === undefined) {
      throw new ClientError(
        `unknown chain "${name}" — use one of ${options.chains.map((x) => x.name).join(', ')}`,
      );
    }
    return c;
  };
  const signer = (c: ChainConfig): AbstractSigner => {
    let s = signers.get(c.name);
    if (s === undefined) {
      const p = new JsonRpcProvider(c.rpcUrls[0], c.chainId, { staticNetwork: true, pollingInterval: 250 });
      providers.set(c.name, p);
      s = new NonceManager(new HeadroomWallet(options.privateKey, p));
      signers.set(c.name, s);
    }
    return s;
  };
  const token = (chainName: string, symbol: string): TokenDeployment => {
    const c = chain(chainName);
    const t = c.tokens.find(
      (x) =>
        x.symbol.toLowerCase() === symbol.toLowerCase() || x.address.toLowerCase() === symbol.toLowerCase(),
    );
    if (t === undefined) {
      throw new ClientError(
        `${c.name} has no token "${symbol}" — use one of ${c.tokens.map((x) => x.symbol).join(', ')}`,
      );
    }
    return t;
  };
  const amountOf = (t: TokenDeployment, amount: string): bigint => {
    let v: bigint;
    try {
      v = parseUnits(amount, t.decimals);
    } catch {
      throw new ClientError(`amount "${amount}" is not a decimal number with at most ${t.decimals} decimals`);
    }
    if (v <= 0n) throw new ClientError(`amount must be positive, got "${amount}"`);
    return v;
  };
  const engineOf = (c: ChainConfig): Contract => {
    if (c.xmargin.engine === undefined) {
      const engines = options.chains.filter((x) => x.xmargin.engine !== undefined).map((x) => x.name);
      throw new ClientError(`${c.name} has no margin engine — use one of ${engines.join(', ')}`);
    }
    return new Contract(c.xmargin.engine, abi.engine, signer(c));
  };
  const marketOf = (c: ChainConfig): Contract => {
    if (c.xmargin.market === undefined) {
      const markets = options.chains.filter((x) => x.xmargin.market !== undefined).map((x) => x.name);
      throw new ClientError(`${c.name} hosts no market — use one of ${markets.join(', ')}`);
    }
    return new Contract(c.xmargin.market, abi.market, signer(c));
  };
  const send = async (
    promise: Promise<{ hash: string; wait(): Promise<unknown> }>,
    fee: bigint,
  ): Promise<TxResult> => {
    const tx = await promise;
    const receipt = (await tx.wait()) as { gasUsed: bigint } | null;
    return { txHash: tx.hash as Hex, fee, gasUsed: receipt?.gasUsed ?? 0n };
  };

  const quoteDeposit = async (p: DepositParams): Promise<bigint> => {
    const src = chain(p.chain);
    const t = token(p.chain, p.token);
    const vault = new Contract(src.xmargin.vault, abi.vault, signer(src));
    const fee = (await vault.getFunction('quoteDeposit')(
      t.address,
      amountOf(t, p.amount),
      p.subaccount ?? 0n,
      chain(p.engine).eid,
      '0x',
    )) as [bigint];
    return fee[0];
  };

  /** The LayerZero fee of the vault's onward LOCK in a MOVE: the fee of a deposit on `from` for `to`. */
  const hopFee = async (p: MoveParams): Promise<bigint> => {
    const lockFee = await quoteDeposit({
      chain: p.from,
      token: p.token,
      amount: p.amount,
      engine: p.to,
      ...(p.subaccount === undefined ? {} : { subaccount: p.subaccount }),
    });
    // Twice the quote: the second hop is paid later, at the gas price of then; the rest is refunded.
    return lockFee * 2n;
  };

  /** The signed size and the price bound of a trade (null: any price), as quoted and as sent. */
  const tradeArgs = (p: TradeParams): { size: bigint; acceptable: bigint | null } => {
    let size: bigint;
    try {
      size = parseUnits(p.size, 18);
    } catch {
      throw new ClientError(`size "${p.size}" is not a decimal number (e.g. 2.5 for a long, -1 for a short)`);
    }
    if (size === 0n) throw new ClientError('size must not be zero');
    if (p.acceptablePrice === undefined) return { size, acceptable: null };
    try {
      return { size, acceptable: parseUnits(p.acceptablePrice, 18) };
    } catch {
      throw new ClientError(`price "${p.acceptablePrice}" is not a decimal number of USD, e.g. 2050.5`);
    }
  };
  const openSize = async (c: ChainConfig, p: CloseParams): Promise<bigint> => {
    const pos = (await marketOf(c).getFunction('positionOf')(
      address,
      p.subaccount ?? 0n,
      p.marketId ?? 1,
    )) as {
      size: bigint;
    };
    if (pos.size === 0n) throw new ClientError(`no open position in market ${p.marketId ?? 1} on ${c.name}`);
    return pos.size;
  };
  /**
   * The fill at today's oracle price: the fee as the market charges it, and the engine's health view
   * with this market's position resized (equity less the fee; PnL at the oracle price is already in it).
   */
  const quote = async (
    c: ChainConfig,
    marketId: number,
    subaccount: bigint,
    size: bigint,
    acceptable: bigint | null,
  ): Promise<TradeQuote> => {
    const market = marketOf(c);
    const m = (await market.getFunction('market')(marketId)) as {
      oracle: string;
      tradingFee: bigint;
      listed: boolean;
    };
    if (!m.listed) {
      const ids = (await market.getFunction('marketIds')()) as bigint[];
      throw new ClientError(`${c.name} lists no market ${marketId} — use one of ${ids.join(', ')}`);
    }
    const engine = engineOf(c);
    const [price, pos, h, risk] = await Promise.all([
      new Contract(m.oracle, PRICE_ADAPTER_ABI, signer(c)).getFunction('price')() as Promise<bigint>,
      market.getFunction('positionOf')(address, subaccount, marketId) as Promise<{ size: bigint }>,
      engine.getFunction('health')(address, subaccount) as Promise<{
        equity: bigint;
        initialRequirement: bigint;
      }>,
      engine.getFunction('marketRisk')(marketId) as Promise<{ initialMargin: bigint }>,
    ]);
    const requirement = (sz: bigint) => mulWadUp(mulWadUp(abs(sz), price), risk.initialMargin);
    const tradingFee = mulWadUp(mulWadUp(abs(size), price), m.tradingFee);
    const equityAfter = h.equity - tradingFee;
    const initialRequirementAfter =
      h.initialRequirement - requirement(pos.size) + requirement(pos.size + size);
    return {
      chain: c.name,
      marketId,
      size,
      positionBefore: pos.size,
      positionAfter: pos.size + size,
      oraclePrice: price,
      acceptablePrice: acceptable,
      feeRate: m.tradingFee,
      tradingFee,
      equityAfter,
      initialRequirementAfter,
      initialHealthAfter:
        initialRequirementAfter === 0n
          ? null
          : equityAfter <= 0n
            ? 0n
            : (equityAfter * WAD) / initialRequirementAfter,
    };
  };

  return {
    address,
    chains: options.chains,
    chain,
    token,
    quoteDeposit,
    async deposit(p) {
      const src = chain(p.chain);
      const t = token(p.chain, p.token);
      const amount = amountOf(t, p.amount);
      const fee = await quoteDeposit(p);
      const vault = new Contract(src.xmargin.vault, abi.vault, signer(src));
      if (t.address.toLowerCase() !== NATIVE.toLowerCase()) {
        const erc20 = new Contract(t.address, abi.erc20, signer(src));
        const allowance = (await erc20.getFunction('allowance')(address, src.xmargin.vault)) as bigint;
        if (allowance < amount)
          await (await erc20.getFunction('approve')(src.xmargin.vault, MAX_UINT)).wait();
      }
      const value = t.address.toLowerCase() === NATIVE.toLowerCase() ? amount + fee : fee;
      return send(
        vault.getFunction('deposit')(t.address, amount, p.subaccount ?? 0n, chain(p.engine).eid, '0x', {
          value,
        }),
        fee,
      );
    },
    async quoteWithdraw(p) {
      const fee = (await engineOf(chain(p.engine)).getFunction('quoteWithdraw')(chain(p.from).eid, '0x')) as [
        bigint,
      ];
      return fee[0];
    },
    async withdraw(p) {
      const engine = engineOf(chain(p.engine));
      const t = token(p.from, p.token);
      const fee = ((await engine.getFunction('quoteWithdraw')(chain(p.from).eid, '0x')) as [bigint])[0];
      return send(
        engine.getFunction('withdraw')(
          p.subaccount ?? 0n,
          chain(p.from).eid,
          t.address,
          amountOf(t, p.amount),
          p.recipient ?? address,
          '0x',
          { value: fee },
        ),
        fee,
      );
    },
    async quoteMove(p) {
      const hop = await hopFee(p);
      const fee = (await engineOf(chain(p.engine)).getFunction('quoteMove')(
        chain(p.from).eid,
        lzReceiveOptions(600_000n, hop),
      )) as [bigint];
      return { fee: fee[0], hopFee: hop };
    },
    async move(p) {
      const engine = engineOf(chain(p.engine));
      const t = token(p.from, p.token);
      const hop = await hopFee(p);
      const options = lzReceiveOptions(600_000n, hop);
      const fee = ((await engine.getFunction('quoteMove')(chain(p.from).eid, options)) as [bigint])[0];
      return send(
        engine.getFunction('move')(
          p.subaccount ?? 0n,
          chain(p.from).eid,
          t.address,
          amountOf(t, p.amount),
          chain(p.to).eid,
          options,
          { value: fee },
        ),
        fee,
      );
    },
    async quoteTrade(p) {
      const { size, acceptable } = tradeArgs(p);
      return quote(chain(p.engine), p.marketId ?? 1, p.subaccount ?? 0n, size, acceptable);
    },
    async trade(p) {
      const market = marketOf(chain(p.engine));
      const { size, acceptable } = tradeArgs(p);
      const bound = acceptable ?? (size > 0n ? MAX_UINT : 0n);
      return send(market.getFunction('trade')(p.subaccount ?? 0n, p.marketId ?? 1, size, bound), 0n);
    },
    async quoteClose(p) {
      const c = chain(p.engine);
      const size = await openSize(c, p);
      return quote(c, p.marketId ?? 1, p.subaccount ?? 0n, -size, null);
    },
    async close(p) {
      const c = chain(p.engine);
      const size = await openSize(c, p);
      return send(
        marketOf(c).getFunction('trade')(
          p.subaccount ?? 0n,
          p.marketId ?? 1,
          -size,
          size > 0n ? 0n : MAX_UINT,
        ),
        0n,
      );
    },
    async positions(account = address, subaccount = 0n) {
      const out: PositionInfo[] = [];
      for (const c of options.chains) {
        if (c.xmargin.market === undefined) continue;
        const market = marketOf(c);
        const list = (await market.getFunction('positionsOf')(account, subaccount)) as {
          marketId: bigint;
          size: bigint;
          markPrice: bigint;
          unrealizedPnl: bigint;
        }[];
        for (const p of list) {
          const pos = (await market.getFunction('positionOf')(account, subaccount, p.marketId)) as {
            entryPrice: bigint;
          };
          out.push({
            chain: c.name,
            marketId: Number(p.marketId),
            size: p.size,
            markPrice: p.markPrice,
            unrealizedPnl: p.unrealizedPnl,
            entryPrice: pos.entryPrice,
          });
        }
      }
      return out;
    },
    async health(account = address, subaccount = 0n) {
      const out: EngineHealth[] = [];
      for (const c of options.chains) {
        if (c.xmargin.engine === undefined) continue;
        const engine = engineOf(c);
        const h = (await engine.getFunction('health')(account, subaccount)) as {
          collateralValue: bigint;
          equity: bigint;
          maintenanceRequirement: bigint;
          initialRequirement: bigint;
          notional: bigint;
          health: bigint;
        };
        const [eids, tokens, amounts] = (await engine.getFunction('collateralsOf')(account, subaccount)) as [
          bigint[],
          string[],
          bigint[],
        ];
        out.push({
          chain: c.name,
          engineEid: c.eid,
          collateralValue: h.collateralValue,
          equity: h.equity,
          maintenanceRequirement: h.maintenanceRequirement,
          initialRequirement: h.initialRequirement,
          notional: h.notional,
          health: h.health === MAX_UINT ? null : h.health,
          collaterals: eids.map((eid, i) => {
            const src = options.chains.find((x) => x.eid === Number(eid));
            const t = src?.tokens.find(
              (x) => x.address.toLowerCase() === (tokens[i] as string).toLowerCase(),
            );
            return {
              srcChain: src?.name ?? String(eid),
              srcEid: Number(eid),
              token: tokens[i] as string,
              symbol: t?.symbol ?? (tokens[i] as string),
              amount: amounts[i] as bigint,
              decimals: t?.decimals ?? 18,
            };
          }),
        });
      }
      return out;
    },
    destroy() {
      for (const p of providers.values()) p.destroy();
    },
  };
}

/** WAD -> "1.2345" with `digits` decimals (for display). */
export function formatWad(x: bigint, digits = 4): string {
  const s = formatUnits(x, 18);
  const [int, frac = ''] = s.split('.');
  return digits === 0 ? (int as string) : `${int}.${frac.padEnd(digits, '0').slice(0, digits)}`;
}

export { WAD };
