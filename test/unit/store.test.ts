// The store against a real LevelDB in a temp dir: batches are all-or-nothing, state survives a
// reopen, buckets never see each other's keys, and values keep their bigints.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Hex } from '../../relayer/config/types.ts';
import {
  type BatchOp,
  BUCKETS,
  createRepositories,
  jsonValue,
  memoryStore,
  openStore,
  type Repositories,
  Repository,
  type Store,
  tupleKey,
  u32Part,
  u64Part,
  utf8Key,
} from '../../relayer/store/index.ts';
import { levelRecords } from '../../relayer/store/journal.ts';

const GUID = `0x${'ab'.repeat(32)}` as Hex;
const SIGNER = `0x${'cd'.repeat(20)}` as Hex;

let dir: string;
let store: Store;
let repos: Repositories;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xmargin-store-'));
  store = await openStore(dir);
  repos = createRepositories(store);
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('store', () => {
  it('commits a change spanning several repositories in one batch', async () => {
    await store.batch([
      repos.cursors.putOp(30101, { block: 120n, blockHash: GUID }),
      repos.packets.putOp(GUID, {
        guid: GUID,
        srcEid: 30101,
        dstEid: 30102,
        nonce: 7n,
        encoded: '0x01',
        status: 'seen',
        updatedAt: 1,
      }),
    ]);
    expect(await repos.cursors.get(30101)).toEqual({ block: 120n, blockHash: GUID });
    expect((await repos.packets.get(GUID))?.nonce).toBe(7n);
  });

  it('writes nothing when one op of a batch cannot be encoded', async () => {
    await repos.cursors.put(1, { block: 1n, blockHash: GUID });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => [
      repos.cursors.putOp(1, { block: 2n, blockHash: GUID }),
      repos.meta.putOp('broken', cyclic),
    ]).toThrow();
    expect(await repos.cursors.get(1)).toEqual({ block: 1n, blockHash: GUID });
    expect(await repos.meta.get('broken')).toBeUndefined();
  });

  it('writes nothing when level refuses one op of a batch', async () => {
    await repos.cursors.put(1, { block: 1n, blockHash: GUID });
    // An op level itself rejects (no value), placed after valid writes to two other buckets.
    const invalid = { type: 'put', key: store.keyOf('meta', new Uint8Array([1])) } as unknown as BatchOp;
    await expect(
      store.batch([
        repos.cursors.putOp(1, { block: 2n, blockHash: GUID }),
        repos.peers.putOp('peer-a', { peerId: 'peer-a', addrs: [], lastSeen: 1 }),
        invalid,
      ]),
    ).rejects.toThrow();
    expect(await repos.cursors.get(1)).toEqual({ block: 1n, blockHash: GUID });
    expect(await repos.peers.get('peer-a')).toBeUndefined();
  });

  it('keeps its state across a reopen', async () => {
    await store.batch([
      repos.cursors.putOp(30101, { block: 99n, blockHash: GUID }),
      repos.signatures.putOp([GUID, SIGNER], {
        guid: GUID,
        signer: SIGNER,
        signature: '0x12',
        receivedAt: 5,
      }),
    ]);
    await store.close();
    store = await openStore(dir);
    repos = createRepositories(store);
    expect(await repos.cursors.get(30101)).toEqual({ block: 99n, blockHash: GUID });
    expect(await repos.signatures.get([GUID, SIGNER])).toMatchObject({ signer: SIGNER, receivedAt: 5 });
  });

  it('isolates buckets: the same key in two buckets holds two values, scans stay inside one', async () => {
    const a = new Repository(store, 'meta', utf8Key, jsonValue<string>());
    const b = new Repository(store, 'peers', utf8Key, jsonValue<string>());
    await store.batch([a.putOp('k', 'in meta'), b.putOp('k', 'in peers'), b.putOp('z', 'last')]);
    expect(await a.get('k')).toBe('in meta');
    expect(await b.get('k')).toBe('in peers');
    expect(await a.values()).toEqual(['in meta']);
    expect(await b.values()).toEqual(['in peers', 'last']);
    await b.del('k');
    expect(await a.get('k')).toBe('in meta');
  });

  it('orders tuple keys numerically and scans ranges', async () => {
    const events = new Repository(
      store,
      'events',
      tupleKey<[number, bigint, number]>(u32Part, u64Part, u32Part),
      jsonValue<number>(),
    );
    await store.batch([
      events.putOp([2, 10n, 0], 3),
      events.putOp([1, 256n, 1], 2),
      events.putOp([1, 9n, 5], 1),
    ]);
    expect(await events.values()).toEqual([1, 2, 3]);
    expect(await events.values({ gte: [1, 0n, 0], lt: [2, 0n, 0] })).toEqual([1, 2]);
    expect(await events.values({ reverse: true, limit: 1 })).toEqual([3]);
  });

  it('the memory store scans and isolates buckets exactly like level', async () => {
    const ops = (s: Store) => {
      const events = new Repository(
        s,
        'events',
        tupleKey<[number, bigint, number]>(u32Part, u64Part, u32Part),
        jsonValue<number>(),
      );
      const meta = new Repository(s, 'meta', utf8Key, jsonValue<number>());
      return {
        events,
        writes: [
          events.putOp([2, 10n, 0], 3),
          events.putOp([1, 256n, 1], 2),
          events.putOp([1, 9n, 5], 1),
          events.putOp([3, 0n, 0], 4),
          meta.putOp('x', 9),
          events.delOp([3, 0n, 0]),
        ],
      };
    };
    const memory = memoryStore();
    const scans = async (s: Store) => {
      const { events, writes } = ops(s);
      await s.batch(writes);
      return [
        await events.values(),
        await events.values({ gte: [1, 0n, 0], lt: [2, 0n, 0] }),
        await events.values({ reverse: true, limit: 2 }),
        await events.get([1, 9n, 5]),
      ];
    };
    expect(await scans(memory)).toEqual(await scans(store));
    expect(await scans(memory)).toEqual([[1, 2, 3], [1, 2], [3, 2], 1]);
  });

  it('has bucket numbers that are unique', () => {
    const ids = Object.values(BUCKETS);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('level journal (write-through cache)', () => {
  interface Rec {
    id: Hex;
    status: string;
    n: bigint;
  }
  const id = (k: number) => `0x${k.toString(16).padStart(64, 'ab')}` as Hex;

  it('gives copies, remembers absence until a put, and persists across a reopen', async () => {
    const journal = levelRecords<Rec>(store, 'liquidationJournal');
    expect(await journal.get(id(1))).toBeUndefined();
    await journal.put({ id: id(1), status: 'claimed', n: 1n });
    const got = (await journal.get(id(1))) as Rec;
    expect(got).toEqual({ id: id(1), status: 'claimed', n: 1n });
    got.status = 'mutated by the caller';
    expect((await journal.get(id(1)))?.status).toBe('claimed');
    await journal.put({ id: id(1), status: 'sent', n: 2n });
    expect(await journal.get(`0x${id(1).slice(2).toUpperCase()}` as Hex)).toEqual({
      id: id(1),
      status: 'sent',
      n: 2n,
    });

    await store.close();
    store = await openStore(dir);
    const reopened = levelRecords<Rec>(store, 'liquidationJournal');
    expect(await reopened.get(id(1))).toEqual({ id: id(1), status: 'sent', n: 2n });
    expect(await reopened.list()).toHaveLength(1);
  });

  it('a read that races a put never caches the older value', async () => {
    const journal = levelRecords<Rec>(store, 'liquidationJournal');
    for (let k = 0; k < 50; k++) {
      const reading = journal.get(id(100 + k));
      await journal.put({ id: id(100 + k), status: 'claimed', n: BigInt(k) });
      await reading;
      expect((await journal.get(id(100 + k)))?.status).toBe('claimed');
    }
  });
});
