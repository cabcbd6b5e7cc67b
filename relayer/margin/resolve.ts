// Facts the events do not carry, read by eth_call at the block being applied and stored with it as
// synthetic events (AdapterResolved, FeedSeeded, AdapterPriced, QuoteResolved): which feed an
// adapter reads and its decimals, a feed's answer when its earlier logs were not seen, a derived
// (ERC-4626) adapter's price, the venue's quote decimals. Stored, they make a replay RPC-free.

import { Interface } from 'ethers';
import type { Address, Hex } from '../config/types.ts';
import type { ChainState } from './state.ts';
import type { MarginEvent } from './types.ts';

/** The calls this module makes (a ChainRpc fits). */
export interface CallRpc {
  send<T>(method: string, params: unknown[]): Promise<T>;
}

const ADAPTER = new Interface([
  'function primary() view returns (address)',
  'function price() view returns (uint256)',
]);
const FEED = new Interface([
  'function decimals() view returns (uint8)',
  'function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)',
]);
const VENUE = new Interface(['function quoteToken() view returns (address)']);

async function call(
  rpc: CallRpc,
  iface: Interface,
  to: Address,
  fn: string,
  block: number,
): Promise<unknown[] | null> {
  const data = iface.encodeFunctionData(fn, []) as Hex;
  try {
    const out = await rpc.send<Hex>('eth_call', [{ to, data }, `0x${block.toString(16)}`]);
    return [...iface.decodeFunctionResult(fn, out)];
  } catch (err) {
    // A revert is an answer (not a Chainlink adapter, a stale feed); transport errors propagate.
    const e = err as { code?: string };
    if (e.code === 'reverted' || e.code === 'CALL_EXCEPTION' || e.code === 'BAD_DATA') return null;
    if (err instanceof Error && /revert|BAD_DATA|could not decode/i.test(err.message)) return null;
    throw err;
  }
}

const lower = (a: unknown): Address => String(a).toLowerCase() as Address;

/** The primary feed of a Chainlink adapter, or null for a derived adapter. */
export async function readAdapterFeed(
  rpc: CallRpc,
  adapter: Address,
  block: number,
): Promise<Address | null> {
  const r = await call(rpc, ADAPTER, adapter, 'primary', block);
  return r === null ? null : lower(r[0]);
}

/** The synthetic events that make `events` (one block of `chain`) computable. */
export async function resolveBlock(
  rpc: CallRpc,
  chain: ChainState,
  block: number,
  events: readonly MarginEvent[],
  onFeed: (feed: Address) => void,
): Promise<MarginEvent[]> {
  const out: MarginEvent[] = [];
  const adapters = new Set<Address>();
  const venues = new Set<Address>();
  for (const e of events) {
    if (e.type === 'RiskAssetSet' || e.type === 'MarketAdded' || e.type === 'MarketParamsSet') {
      if (!chain.adapters.has(e.oracle)) adapters.add(e.oracle);
    }
    if (e.type === 'VenueSet' && !chain.quoteDecimals.has(e.venue)) venues.add(e.venue);
  }
  const answered = new Set(events.flatMap((e) => (e.type === 'AnswerUpdated' ? [e.feed] : [])));
  const seeded = new Set<Address>();
  for (const adapter of adapters) {
    const feed = await readAdapterFeed(rpc, adapter, block);
    if (feed === null) {
      out.push({ type: 'AdapterResolved', adapter, feed: null, feedDecimals: 0 });
      const p = await call(rpc, ADAPTER, adapter, 'price', block);
      out.push({ type: 'AdapterPriced', adapter, price: p === null ? null : BigInt(p[0] as bigint) });
      continue;
    }
    const dec = await call(rpc, FEED, feed, 'decimals', block);
    out.push({ type: 'AdapterResolved', adapter, feed, feedDecimals: dec === null ? 0 : Number(dec[0]) });
    onFeed(feed);
    if (!chain.feeds.has(feed) && !answered.has(feed) && !seeded.has(feed)) {
      const round = await call(rpc, FEED, feed, 'latestRoundData', block);
      if (round !== null) {
        out.push({ type: 'FeedSeeded', feed, answer: BigInt(round[1] as bigint) });
        seeded.add(feed);
      }
    }
  }
  for (const venue of venues) {
    const q = await call(rpc, VENUE, venue, 'quoteToken', block);
    if (q === null) continue;
    const dec = await call(rpc, FEED, lower(q[0]), 'decimals', block);
    if (dec !== null) out.push({ type: 'QuoteResolved', venue, decimals: Number(dec[0]) });
  }
  // Derived adapters have no feed to follow: read their price on every block that changed anything.
  if (events.length > 0) {
    for (const [adapter, a] of chain.adapters) {
      if (a.feed !== null) continue;
      const p = await call(rpc, ADAPTER, adapter, 'price', block);
      const price = p === null ? null : BigInt(p[0] as bigint);
      if (price !== a.price) out.push({ type: 'AdapterPriced', adapter, price });
    }
  }
  return out;
}
