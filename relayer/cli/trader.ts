// Trader commands: deposit, withdraw, move, open, close, positions, health. Each one prints its quote
// before it sends (the LayerZero fee; for a trade the oracle price, the trading fee and the initial
// margin it leaves), and every read command, open and close take --json.

import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { formatEther, formatUnits } from 'ethers';
import {
  ClientError,
  createClient,
  formatWad,
  type TradeQuote,
  type XmarginClient,
} from '../client/index.ts';
import { readJsonFile } from '../config/load.ts';
import type { Address } from '../config/types.ts';
import { loadNetworkView } from '../node/node.ts';

const DEFAULT_NETWORK = 'config/devnet/manifest.json';

interface Common {
  network: string;
  key?: string;
  as: string;
  sub: string;
}

function withCommon(cmd: Command): Command {
  return cmd
    .option('--network <file>', 'networks file or devnet manifest', DEFAULT_NETWORK)
    .option('--key <file>', 'private key file of the account (hex)')
    .option('--as <role>', 'on a devnet without --key: the manifest account to use', 'trader')
    .option('--sub <n>', 'subaccount', '0');
}

function clientFor(flags: Common): XmarginClient {
  const { chains } = loadNetworkView(flags.network);
  let privateKey: string;
  if (flags.key !== undefined) {
    privateKey = readFileSync(flags.key, 'utf8').trim();
  } else {
    const raw = readJsonFile(flags.network) as { accounts?: { role: string; privateKey: string }[] };
    const account = raw.accounts?.find((a) => a.role === flags.as);
    if (account === undefined) {
      throw new ClientError(
        `--key is required (${flags.network} is not a devnet manifest with a "${flags.as}" account)`,
      );
    }
    privateKey = account.privateKey;
  }
  return createClient({ chains, privateKey });
}

function subOf(flags: Common): bigint {
  if (!/^\d+$/.test(flags.sub)) throw new ClientError(`--sub must be a whole number, got "${flags.sub}"`);
  return BigInt(flags.sub);
}

function marketOf(value: string): number {
  if (!/^\d+$/.test(value)) throw new ClientError(`--market must be a whole number, got "${value}"`);
  return Number(value);
}

/** One line: what the trade does, at which price, for which fee, and the initial margin it leaves. */
export function describeQuote(q: TradeQuote): string {
  const side = q.size > 0n ? 'buy' : 'sell';
  const bound =
    q.acceptablePrice === null
      ? 'any price accepted'
      : `${side === 'buy' ? 'at most' : 'at least'} ${formatWad(q.acceptablePrice, 2)} accepted`;
  const health = q.initialHealthAfter === null ? '∞' : formatWad(q.initialHealthAfter, 3);
  return (
    `trade quote: ${side} ${formatUnits(q.size < 0n ? -q.size : q.size, 18)} in market ${q.marketId} on ${q.chain} ` +
    `at the oracle price ${formatWad(q.oraclePrice, 2)} USD (${bound}); ` +
    `trading fee ${formatWad(q.tradingFee, 2)} USD (${formatWad(q.feeRate * 100n, 2)}%); ` +
    `initial-margin health after ${health} (equity ${formatWad(q.equityAfter, 2)} / requirement ${formatWad(q.initialRequirementAfter, 2)} USD; below 1 the engine refuses)`
  );
}

async function using<T>(flags: Common, run: (client: XmarginClient) => Promise<T>): Promise<T> {
  const client = clientFor(flags);
  try {
    return await run(client);
  } finally {
    client.destroy();
  }
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const json = (value: unknown) =>
  out(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

export function traderCommands(): Command[] {
  const deposit = withCommon(new Command('deposit'))
    .description('lock collateral in the vault of --chain for the engine of --engine')
    .requiredOption('--chain <name>', 'chain of the vault (where the collateral is locked)')
    .requiredOption('--token <symbol>', 'token symbol, e.g. WETH')
    .requiredOption('--amount <n>', 'amount in token units, e.g. 1.5')
    .requiredOption('--engine <name>', 'chain of the margin engine that credits it')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin deposit --chain devnet-a --token WETH --amount 2 --engine devnet-c\n',
    )
    .action(async (f: Common & { chain: string; token: string; amount: string; engine: string }) =>
      using(f, async (c) => {
        const p = {
          chain: f.chain,
          token: f.token,
          amount: f.amount,
          engine: f.engine,
          subaccount: subOf(f),
        };
        out(`fee quote: ${formatEther(await c.quoteDeposit(p))} (native, LayerZero)`);
        const r = await c.deposit(p);
        out(`deposited ${f.amount} ${f.token} on ${f.chain} for ${f.engine}: ${r.txHash} (gas ${r.gasUsed})`);
      }),
    );

  const withdraw = withCommon(new Command('withdraw'))
    .description('withdraw credited collateral from --engine, paid out on --from')
    .requiredOption('--engine <name>', 'chain of the margin engine')
    .requiredOption('--from <name>', 'chain where the collateral is locked (paid out there)')
    .requiredOption('--token <symbol>', 'token symbol')
    .requiredOption('--amount <n>', 'amount in token units')
    .option('--to <address>', 'recipient (default: the account)')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin withdraw --engine devnet-c --from devnet-a --token WETH --amount 0.5\n',
    )
    .action(
      async (f: Common & { engine: string; from: string; token: string; amount: string; to?: string }) =>
        using(f, async (c) => {
          const p = {
            engine: f.engine,
            from: f.from,
            token: f.token,
            amount: f.amount,
            subaccount: subOf(f),
            ...(f.to === undefined ? {} : { recipient: f.to as Address }),
          };
          out(`fee quote: ${formatEther(await c.quoteWithdraw(p))} (native, LayerZero)`);
          const r = await c.withdraw(p);
          out(`withdrawal requested: ${r.txHash} (gas ${r.gasUsed}); paid on ${f.from} when RELEASE lands`);
        }),
    );

  const move = withCommon(new Command('move'))
    .description('move credit from --engine to --to through the vault of --from')
    .requiredOption('--engine <name>', 'engine that holds the credit now')
    .requiredOption('--from <name>', 'chain where the collateral is locked')
    .requiredOption('--token <symbol>', 'token symbol')
    .requiredOption('--amount <n>', 'amount in token units')
    .requiredOption('--to <name>', 'engine that receives the credit')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin move --engine devnet-b --from devnet-a --token WETH --amount 1 --to devnet-c\n',
    )
    .action(async (f: Common & { engine: string; from: string; token: string; amount: string; to: string }) =>
      using(f, async (c) => {
        const p = {
          engine: f.engine,
          from: f.from,
          token: f.token,
          amount: f.amount,
          to: f.to,
          subaccount: subOf(f),
        };
        const q = await c.quoteMove(p);
        out(
          `fee quote: ${formatEther(q.fee)} (native, both hops; ${formatEther(q.hopFee)} of it for the vault's LOCK)`,
        );
        const r = await c.move(p);
        out(`move requested: ${r.txHash} (gas ${r.gasUsed})`);
      }),
    );

  const open = withCommon(new Command('open'))
    .description('open or change a perpetual position on the market of --engine (size: + long, - short)')
    .requiredOption('--engine <name>', 'chain of the engine and its market')
    .requiredOption('--size <n>', 'base size, e.g. 2.5 or -1')
    .option('--market <id>', 'market id', '1')
    .option('--price <usd>', 'worst acceptable price (default: any; the trade fills at the oracle price)')
    .option('--json', 'one JSON document: the quote and the transaction')
    .addHelpText('after', '\nExample:\n  xmargin open --engine devnet-c --size 5 --price 2020\n')
    .action(
      async (f: Common & { engine: string; size: string; market: string; price?: string; json?: boolean }) =>
        using(f, async (c) => {
          const p = {
            engine: f.engine,
            size: f.size,
            marketId: marketOf(f.market),
            subaccount: subOf(f),
            ...(f.price === undefined ? {} : { acceptablePrice: f.price }),
          };
          const q = await c.quoteTrade(p);
          if (f.json !== true) out(describeQuote(q));
          const r = await c.trade(p);
          if (f.json === true) return json({ quote: q, txHash: r.txHash, gasUsed: r.gasUsed });
          out(`traded ${f.size} on ${f.engine} market ${f.market}: ${r.txHash} (gas ${r.gasUsed})`);
        }),
    );

  const close = withCommon(new Command('close'))
    .description('close the position in --market on --engine')
    .requiredOption('--engine <name>', 'chain of the engine and its market')
    .option('--market <id>', 'market id', '1')
    .option('--json', 'one JSON document: the quote and the transaction')
    .addHelpText('after', '\nExample:\n  xmargin close --engine devnet-c\n')
    .action(async (f: Common & { engine: string; market: string; json?: boolean }) =>
      using(f, async (c) => {
        const p = { engine: f.engine, marketId: marketOf(f.market), subaccount: subOf(f) };
        const q = await c.quoteClose(p);
        if (f.json !== true) out(describeQuote(q));
        const r = await c.close(p);
        if (f.json === true) return json({ quote: q, txHash: r.txHash, gasUsed: r.gasUsed });
        out(`closed market ${f.market} on ${f.engine}: ${r.txHash} (gas ${r.gasUsed})`);
      }),
    );

  const positions = withCommon(new Command('positions'))
    .description('open positions of an account on every engine')
    .option('--account <address>', "account (default: the key's)")
    .option('--json', 'one JSON document')
    .addHelpText('after', '\nExample:\n  xmargin positions --json\n')
    .action(async (f: Common & { account?: string; json?: boolean }) =>
      using(f, async (c) => {
        const list = await c.positions((f.account ?? c.address) as Address, subOf(f));
        if (f.json === true) return json(list);
        if (list.length === 0) return out('no open positions');
        out('chain        market  size          entry        mark         uPnL (USD)');
        for (const p of list) {
          out(
            `${p.chain.padEnd(12)} ${String(p.marketId).padEnd(7)} ${formatWad(p.size).padEnd(13)} ${formatWad(p.entryPrice, 2).padEnd(12)} ${formatWad(p.markPrice, 2).padEnd(12)} ${formatWad(p.unrealizedPnl, 2)}`,
          );
        }
      }),
    );

  const health = withCommon(new Command('health'))
    .description('margin health of one account on every engine, with its collateral across chains')
    .option('--account <address>', "account (default: the key's)")
    .option('--json', 'one JSON document')
    .addHelpText(
      'after',
      '\nExample:\n  xmargin health --account 0x90F79bf6EB2c4f870365E785982E1f101E93b906\n',
    )
    .action(async (f: Common & { account?: string; json?: boolean }) =>
      using(f, async (c) => {
        const list = await c.health((f.account ?? c.address) as Address, subOf(f));
        if (f.json === true) return json(list);
        out(`account ${f.account ?? c.address}, subaccount ${f.sub}`);
        out('engine       health    equity (USD)   collateral (USD, after haircut)   maintenance   initial');
        for (const h of list) {
          const health = h.health === null ? '∞' : formatWad(h.health, 3);
          out(
            `${h.chain.padEnd(12)} ${health.padEnd(9)} ${formatWad(h.equity, 2).padEnd(14)} ${formatWad(h.collateralValue, 2).padEnd(33)} ${formatWad(h.maintenanceRequirement, 2).padEnd(13)} ${formatWad(h.initialRequirement, 2)}`,
          );
          for (const col of h.collaterals) {
            out(`    ${col.symbol} ${formatUnits(col.amount, col.decimals)} locked on ${col.srcChain}`);
          }
        }
      }),
    );

  return [deposit, withdraw, move, open, close, positions, health];
}
