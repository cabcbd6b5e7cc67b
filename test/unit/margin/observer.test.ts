// The observation publisher on fakes: the first block after a start follows the store's cursor
// (the empty blocks between are filled from headers), and a new connection makes it publish again
// what a peer may have missed: since a little before the first connection loss, or everything it
// keeps when none was lost.

import { Wallet } from 'ethers';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { isObservationPart, observedBlock } from '../../../relayer/margin/observation-parts.ts';
import { createObserver } from '../../../relayer/margin/observer.ts';
import type { MarginEvent } from '../../../relayer/margin/types.ts';
import type { BlockListener } from '../../../relayer/margin/view.ts';
import type { ObservationMessage } from '../../../relayer/p2p/observation-payload.ts';

const EID = 40101;
const hash = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const tick = () => new Promise((r) => setTimeout(r, 20));

function setup(startCursor: number) {
  let clock = 0;
  let applied: BlockListener | undefined;
  let peer: ((e: 'subscribed' | 'disconnect', peerId: string) => void) | undefined;
  const published: number[] = [];
  const messages: ObservationMessage[] = [];
  const observer = createObserver({
    view: {
      onBlockApplied: (l) => {
        applied = l;
        return () => undefined;
      },
      startCursor: () => startCursor,
    },
    chains: [{ eid: EID, name: 'devnet-a' } as ChainConfig],
    gossip: {
      publish: async (_topic, payload) => {
        published.push(observedBlock(payload as ObservationMessage).number);
        messages.push(payload as ObservationMessage);
      },
    },
    wallet: Wallet.createRandom() as unknown as Wallet,
    getBlock: async (_eid, n) => ({ number: n, hash: hash(n), timestamp: n }),
    log: pino({ level: 'silent' }),
    peerEvents: (l) => {
      peer = l;
    },
    replayDelayMs: 0,
    now: () => clock,
  });
  observer.start();
  const apply = async (n: number, events: MarginEvent[] = []) => {
    applied?.(EID, { eid: EID, number: n, hash: hash(n), timestamp: n, events });
    await tick();
  };
  return {
    observer,
    published,
    messages,
    apply,
    peer: async (e: 'subscribed' | 'disconnect', peerId = 'peer-1') => {
      peer?.(e, peerId);
      await tick();
    },
    at: (ms: number) => {
      clock = ms;
    },
  };
}

describe('observation publisher', () => {
  it('publishes from the store cursor on, filling empty blocks from headers', async () => {
    const t = setup(4);
    await t.apply(7);
    expect(t.published).toEqual([5, 6, 7]);
    await t.observer.stop();
  });

  it('publishes a block with more events than one message holds in parts, as one block', async () => {
    const t = setup(-1);
    const events: MarginEvent[] = Array.from({ length: 130 }, (_, i) => ({
      type: 'LockPending',
      id: hash(i),
      engineEid: 40_103,
    }));
    await t.apply(0, events);
    expect(t.published).toEqual([0, 0, 0]);
    expect(t.messages.map((m) => (isObservationPart(m) ? m.part.events.length : -1))).toEqual([64, 64, 2]);
    expect(t.observer.stats()).toMatchObject({ published: 1, failed: 0 });
    await t.observer.stop();
  });

  it('replays the last seconds to a newcomer, and what followed a connection loss to a known peer', async () => {
    const t = setup(-1);
    await t.apply(0);
    t.at(10_000);
    for (const n of [1, 2]) await t.apply(n);
    t.at(20_000);
    await t.peer('subscribed'); // a newcomer: the last 15 s
    await t.peer('subscribed'); // known, no loss since: nothing
    t.at(30_000);
    await t.peer('disconnect');
    t.at(35_000);
    await t.apply(3);
    await t.apply(4);
    await t.peer('subscribed'); // back from the loss: since shortly before it
    await t.observer.stop();
    // 0-2 live, replayed 1-2 (0 is older than 15 s); 3-4 live, replayed 3-4 (1-2 are older than the
    // loss by more than the margin).
    expect(t.published).toEqual([0, 1, 2, 1, 2, 3, 4, 3, 4]);
    expect(t.observer.stats()).toMatchObject({ published: 5, replayed: 4, failed: 0 });
  });
});
