// Where a chain stood at a moment: the highest block whose timestamp is at most a given time. Used to
// count blocks of one chain across an event on another (chains have their own block numbers; block
// timestamps are the clock they share).

/** What blockAtTime reads: ethers' Provider.getBlock satisfies it. */
export interface BlockSource {
  getBlock(tag: number | 'latest'): Promise<{ number: number; timestamp: number } | null>;
}

/**
 * The highest block with timestamp ≤ `timestamp` (seconds), by binary search over block numbers
 * (timestamps never decrease along a chain); -1 when even the genesis block is later.
 */
export async function blockAtTime(chain: BlockSource, timestamp: number): Promise<number> {
  const latest = await chain.getBlock('latest');
  if (latest === null) throw new Error('the chain returned no latest block');
  if (latest.timestamp <= timestamp) return latest.number;
  const at = async (n: number): Promise<number> => {
    const b = await chain.getBlock(n);
    if (b === null) throw new Error(`the chain returned no block ${n}`);
    return b.timestamp;
  };
  let lo = -1; // timestamp(lo) ≤ t (a virtual block before genesis)
  let hi = latest.number; // timestamp(hi) > t
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await at(mid)) <= timestamp) lo = mid;
    else hi = mid;
  }
  return lo;
}
