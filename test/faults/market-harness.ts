// The liquidation side of the fault suite: a devnet whose nodes also run the liquidator role (they
// repay in B's USDC), fresh traders driven through anvil's auto-impersonation, ETH price moves on B,
// and the engine's Liquidated events. Shared by market.test.ts and crash.test.ts.

import {
  Contract,
  getAddress,
  type JsonRpcProvider,
  NonceManager,
  parseUnits,
  toBeHex,
  toQuantity,
  Wallet,
  zeroPadValue,
} from 'ethers';
import { readArtifact } from '../../relayer/chain/artifacts.ts';
import type { Address, ChainConfig, Hex } from '../../relayer/config/types.ts';
import { KIND_SEIZE } from '../../relayer/liquidation/abi.ts';
import { bootNet, type Net, tokenOf } from './harness.ts';

export const WAD = 10n ** 18n;
export const USDC = (n: number | string): bigint => parseUnits(String(n), 6);
export const ETH_PERP = 1;
const erc20 = readArtifact('MockERC20').abi;

/** Runs `fn` over `items`, `width` at a time. */
export async function inPool<T, R>(
  items: readonly T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

/** A fresh trader address per (scenario, index); anvil impersonates it, so no key is needed. */
export function traderAddress(scenario: number, i: number): Address {
  return getAddress(
    zeroPadValue(toBeHex((0xfa17n << 64n) + (BigInt(scenario) << 32n) + BigInt(i)), 20),
  ) as Address;
}

export interface Spec {
  /** USDC deposited on B's own vault (credited at once). */
  usdc: bigint;
  /** ETH-PERP long, WAD. */
  size: bigint;
}

export interface Liquidation {
  account: string;
  subaccount: bigint;
  liquidator: string;
  repaid: bigint;
  block: number;
  tx: string;
  /** SEIZE debits of the same transaction, token units. */
  seized: { token: string; amount: bigint }[];
}

/** Liquidated events per account (subaccount 0). */
export function perAccount(list: Liquidation[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of list) out.set(l.account.toLowerCase(), (out.get(l.account.toLowerCase()) ?? 0) + 1);
  return out;
}

/** Engine chain B of a liquidator devnet and what the scenarios do on it. */
export class MarketDesk {
  readonly net: Net;
  readonly B: ChainConfig;
  readonly p: JsonRpcProvider;
  readonly deployer: NonceManager;
  readonly engine: Contract;
  readonly vault: Contract;
  readonly market: Contract;
  readonly usdc: Address;

  constructor(net: Net) {
    this.net = net;
    this.B = net.chains[1] as ChainConfig;
    this.p = net.rpc(this.B);
    this.deployer = new NonceManager(new Wallet(net.manifest.accounts[0]?.privateKey as string, this.p));
    const abi = (name: string) => readArtifact(name).abi;
    this.engine = new Contract(this.B.xmargin.engine as string, abi('MarginEngine'), this.deployer);
    this.vault = new Contract(this.B.xmargin.vault, abi('CollateralVault'), this.deployer);
    this.market = new Contract(this.B.xmargin.market as string, abi('PerpMarket'), this.deployer);
    this.usdc = tokenOf(this.B, 'USDC');
  }

  /**
   * A 2-chain devnet (engine on B) whose nodes run attestor, executor and liquidator: the nodes get
   * USDC to repay with, the insurance fund `insurance`, and B impersonates any address.
   */
  static async boot(options: { insurance?: bigint; nodeArgs?: string[] } = {}): Promise<MarketDesk> {
    const net = await bootNet({
      chains: 2,
      roles: ['attestor', 'executor', 'liquidator'],
      ...(options.nodeArgs === undefined ? {} : { nodeArgs: options.nodeArgs }),
    });
    try {
      const desk = new MarketDesk(net);
      const token = new Contract(desk.usdc, erc20, desk.deployer);
      for (const node of net.cluster.nodes)
        await (await token.getFunction('mint')(node.signer, USDC(10_000_000))).wait();
      const insurance = options.insurance ?? 0n;
      if (insurance > 0n) {
        await (await token.getFunction('mint')(await desk.deployer.getAddress(), insurance)).wait();
        await (await token.getFunction('approve')(desk.B.xmargin.engine, insurance)).wait();
        await (await desk.engine.getFunction('fundInsurance')(insurance)).wait();
      }
      await desk.p.send('anvil_autoImpersonateAccount', [true]);
      return desk;
    } catch (err) {
      await net.stop();
      throw err;
    }
  }

  /** eth_sendTransaction from an impersonated `from` with an explicit nonce and gas (no estimation:
   *  its earlier transactions are not mined yet). */
  private sendAs(from: Address, nonce: number, to: Address, data: string, gas: bigint): Promise<Hex> {
    return this.p.send('eth_sendTransaction', [
      { from, to, data, nonce: toQuantity(nonce), gas: toQuantity(gas) },
    ]);
  }

  /** Funds and opens every spec in parallel: mint, approve, deposit, trade; throws unless all landed. */
  async openTraders(scenario: number, specs: readonly Spec[]): Promise<Address[]> {
    const { B, p, usdc } = this;
    const token = new Contract(usdc, erc20);
    const addrs = specs.map((_, i) => traderAddress(scenario, i));
    const hashes = await inPool(specs, 48, async (s, i) => {
      const who = addrs[i] as Address;
      await p.send('anvil_setBalance', [who, toQuantity(10n ** 19n)]);
      await this.sendAs(who, 0, usdc, token.interface.encodeFunctionData('mint', [who, s.usdc]), 100_000n);
      await this.sendAs(
        who,
        1,
        usdc,
        token.interface.encodeFunctionData('approve', [B.xmargin.vault, s.usdc]),
        100_000n,
      );
      await this.sendAs(
        who,
        2,
        B.xmargin.vault,
        this.vault.interface.encodeFunctionData('deposit', [usdc, s.usdc, 0n, B.eid, '0x']),
        600_000n,
      );
      return this.sendAs(
        who,
        3,
        B.xmargin.market as Address,
        this.market.interface.encodeFunctionData('trade', [0n, ETH_PERP, s.size, 10n ** 30n]),
        1_500_000n,
      );
    });
    const receipts = await inPool(hashes, 48, (h) => p.waitForTransaction(h, 1, 120_000));
    const failed = receipts.filter((r) => r?.status !== 1).length;
    if (failed > 0) throw new Error(`${failed} of ${specs.length} traders' trades did not land`);
    return addrs;
  }

  /** ETH / USD on B's feed, in whole dollars, as one transaction; returns its block. */
  async setEthPrice(usd: bigint, fees: { maxFeePerGas?: bigint } = {}): Promise<number> {
    const feed = new Contract(
      this.B.tokens.find((t) => t.symbol === 'WETH')?.feed as Address,
      readArtifact('SettableAggregator').abi,
      this.deployer,
    );
    const tx = await feed.getFunction('setAnswer')(usd * 10n ** 8n, fees);
    return (await tx.wait())?.blockNumber ?? 0;
  }

  /** Every Liquidated event on B since `fromBlock`, with the seizures of its transaction. */
  async liquidations(fromBlock: number): Promise<Liquidation[]> {
    const { engine } = this;
    const events = await engine.queryFilter(engine.getEvent('Liquidated'), fromBlock);
    const debits = await engine.queryFilter(engine.getEvent('Debited'), fromBlock);
    return events.map((e) => {
      const ev = e as unknown as {
        args: Record<string, unknown>;
        blockNumber: number;
        transactionHash: string;
      };
      const seized = debits
        .map((d) => d as unknown as { args: Record<string, unknown>; transactionHash: string })
        // A liquidateBatch transaction seizes from several accounts: only this one's seizures count.
        .filter(
          (d) =>
            d.transactionHash === ev.transactionHash &&
            Number(d.args.kind) === KIND_SEIZE &&
            String(d.args.account).toLowerCase() === String(ev.args.account).toLowerCase() &&
            d.args.subaccount === ev.args.subaccount,
        )
        .map((d) => ({ token: String(d.args.token), amount: d.args.amount as bigint }));
      return {
        account: String(ev.args.account),
        subaccount: ev.args.subaccount as bigint,
        liquidator: String(ev.args.liquidator),
        repaid: ev.args.repaid as bigint,
        block: ev.blockNumber,
        tx: ev.transactionHash,
        seized,
      };
    });
  }

  async healthOf(account: Address, blockTag?: number) {
    return (await this.engine.getFunction('health')(
      account,
      0n,
      blockTag === undefined ? {} : { blockTag },
    )) as {
      equity: bigint;
      health: bigint;
      notional: bigint;
      collateralValue: bigint;
    };
  }
}
