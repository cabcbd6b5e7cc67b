// blockAtTime: where a chain stood at a moment, against a scripted chain with uneven block times.

import { describe, expect, it } from 'vitest';
import { type BlockSource, blockAtTime } from '../../../relayer/chain/blocks.ts';

/** Blocks 0..n with the given timestamps. */
function chain(timestamps: number[]): BlockSource & { reads: number } {
  const c = {
    reads: 0,
    async getBlock(tag: number | 'latest') {
      c.reads++;
      const n = tag === 'latest' ? timestamps.length - 1 : tag;
      const timestamp = timestamps[n];
      return timestamp === undefined ? null : { number: n, timestamp };
    },
  };
  return c;
}

describe('blockAtTime', () => {
  // Several blocks in one second (automine), gaps of several seconds.
  const times = [100, 101, 101, 101, 105, 106, 110, 111, 111, 120];

  it('is the last block of that second, or the last before it', async () => {
    expect(await blockAtTime(chain(times), 101)).toBe(3);
    expect(await blockAtTime(chain(times), 104)).toBe(3);
    expect(await blockAtTime(chain(times), 105)).toBe(4);
    expect(await blockAtTime(chain(times), 119)).toBe(8);
  });

  it('is the head for a moment at or after it, and -1 before genesis', async () => {
    expect(await blockAtTime(chain(times), 120)).toBe(9);
    expect(await blockAtTime(chain(times), 500)).toBe(9);
    expect(await blockAtTime(chain(times), 99)).toBe(-1);
  });

  it('reads O(log n) blocks', async () => {
    const long = chain(Array.from({ length: 10_000 }, (_, i) => 1_000 + i));
    expect(await blockAtTime(long, 5_321)).toBe(4_321);
    expect(long.reads).toBeLessThanOrEqual(16);
  });
});
