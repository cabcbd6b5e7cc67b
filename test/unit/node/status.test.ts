// The node's status builder and packet timings on fakes: chains from followers (head, lag, RPC
// errors), peers with scores and bound signers, open packets and failures from the attestor's
// stores, and verification / delivery durations measured from the first time a packet was stored.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AttestRecord, DeliveryRecord } from '../../../attestor/stores.ts';
import type { ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { rebalanceEntries } from '../../../relayer/node/margin-status.ts';
import { withPacketTiming } from '../../../relayer/node/packet-timing.ts';
import {
  chainSamples,
  createStatusProvider,
  directorySize,
  type FollowerView,
  type StatusSources,
} from '../../../relayer/node/status.ts';
import { memoryNodeStores } from '../../../relayer/node/stores.ts';
import type { RebalanceRecord } from '../../../relayer/rebalance/types.ts';

const guid = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;

function attest(n: number, state: AttestRecord['state'], lastError?: string): AttestRecord {
  return {
    hash: guid(1000 + n),
    srcEid: 40101,
    dstEid: 40102,
    nonce: BigInt(n),
    guid: guid(n),
    header: '0x',
    payloadHash: guid(2000 + n),
    confirmations: 1n,
    expiration: 0n,
    state,
    ...(lastError === undefined ? {} : { lastError }),
  };
}

function delivery(n: number, state: DeliveryRecord['state'], failures: string[] = []): DeliveryRecord {
  return {
    guid: guid(n),
    srcEid: 40101,
    dstEid: 40102,
    sender: guid(3000),
    nonce: BigInt(n),
    receiver: '0x0000000000000000000000000000000000000001',
    message: '0x',
    payloadHash: guid(2000 + n),
    gas: 350_000n,
    value: 0n,
    state,
    attempts: failures.length,
    nextAttemptAt: 0,
    failures: failures.map((reason, at) => ({ at, reason })),
  };
}

function sources(overrides: Partial<StatusSources> = {}): StatusSources {
  const followers: FollowerView[] = [
    { tip: { number: 100 }, latestHead: 103, lastError: undefined },
    { tip: undefined, latestHead: undefined, lastError: new Error('connect ECONNREFUSED\n  at x') },
  ];
  return {
    version: '0.1.0',
    signer: '0xabc',
    peerId: '12D3KooSelf',
    roles: ['attestor', 'executor'],
    startedAt: 1_000,
    now: () => 61_500,
    chains: [
      { name: 'devnet-a', eid: 40101 },
      { name: 'devnet-b', eid: 40102 },
    ],
    followers: () => followers,
    peers: () => [
      { peerId: 'peer-1', addrs: ['/ip4/127.0.0.1/tcp/1'] },
      { peerId: 'peer-2', addrs: ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'] },
    ],
    peerScore: (p) => (p === 'peer-1' ? 5 : -20),
    boundSigner: (p) => (p === 'peer-1' ? '0xsigner1' : undefined),
    records: memoryNodeStores().records,
    journal: memoryNodeStores().journal,
    packetCounts: () => ({ verified: 3, delivered: 2 }),
    ...overrides,
  };
}

describe('node status', () => {
  it('reports identity, uptime, peers and chains', async () => {
    const status = await createStatusProvider(sources())();
    expect(status.node).toEqual({
      version: '0.1.0',
      signer: '0xabc',
      peerId: '12D3KooSelf',
      roles: ['attestor', 'executor'],
      uptimeS: 60,
    });
    expect(status.peers).toEqual([
      { peerId: 'peer-1', signer: '0xsigner1', score: 5, addrs: ['/ip4/127.0.0.1/tcp/1'] },
      { peerId: 'peer-2', score: -20, addrs: ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3'] },
    ]);
    expect(status.chains).toEqual([
      { name: 'devnet-a', eid: 40101, head: 100, lag: 3, rpcOk: true },
      {
        name: 'devnet-b',
        eid: 40102,
        head: null,
        lag: null,
        rpcOk: false,
        lastError: 'connect ECONNREFUSED at x',
      },
    ]);
    // No margin view on this node: no accounts key at all (the dashboard says so).
    expect('accounts' in status).toBe(false);
    expect(status.liquidations).toEqual([]);
    expect(chainSamples(sources())).toEqual([
      { chain: 'devnet-a', head: 100, lag: 3 },
      { chain: 'devnet-b', head: null, lag: null },
    ]);
  });

  it("reports a peer's rejected gossip per code and the attestor's refusals to sign", async () => {
    const refused = {
      total: 2,
      byReason: { rpc_disagreement: 2, not_confirmed: 0, rpc_error: 0, error: 0 },
      recent: [{ guid: guid(1), reason: 'rpc_disagreement', detail: 'RPCs of chain a disagree', at: 5 }],
    };
    const status = await createStatusProvider(
      sources({
        peerRejections: (p) => (p === 'peer-2' ? { UNKNOWN_SIGNER: 7 } : {}),
        refusals: () => refused,
      }),
    )();
    expect(status.peers.map((p) => p.rejected)).toEqual([undefined, { UNKNOWN_SIGNER: 7 }]);
    expect('rejected' in (status.peers[0] ?? {})).toBe(false);
    expect(status.packets.refused).toEqual(refused);
    // A node without the attestor role has no refusals section.
    const plain = await createStatusProvider(sources({ refusals: () => undefined }))();
    expect('refused' in plain.packets).toBe(false);
  });

  it('reports a chain whose RPC attempt failed while its read still retries', async () => {
    const healthy: FollowerView = { tip: { number: 7 }, latestHead: 7, lastError: undefined };
    const status = await createStatusProvider(
      sources({
        followers: () => [healthy, healthy],
        rpcTrouble: () => [new Error('devnet-a (http://x): timed out'), undefined],
      }),
    )();
    expect(status.chains.map((c) => [c.rpcOk, c.lastError])).toEqual([
      [false, 'devnet-a (http://x): timed out'],
      [true, undefined],
    ]);
  });

  it('lists open packets once per guid, with failures and counters', async () => {
    const records = memoryNodeStores().records;
    const journal = memoryNodeStores().journal;
    await records.put(attest(1, 'collecting'));
    await records.put(attest(2, 'verified', 'execute reverted: quorum'));
    await records.put({ ...attest(6, 'collecting'), quorumAt: 1_700_000_000_000 });
    await records.put(attest(3, 'committed'));
    await journal.put(delivery(2, 'waiting'));
    await journal.put(delivery(4, 'waiting', ['first', 'lzReceive reverted: InsufficientCredit']));
    await journal.put(delivery(5, 'delivered'));
    const status = await createStatusProvider(sources({ records, journal }))();
    expect(status.packets.inFlight).toBe(4);
    expect(status.packets.verified).toBe(3);
    expect(status.packets.delivered).toBe(2);
    expect(status.packets.open?.map((p) => [p.guid, p.stage])).toEqual([
      [guid(1), 'collecting'],
      [guid(2), 'verified'],
      [guid(6), 'collecting'],
      [guid(4), 'waiting'],
    ]);
    expect(status.packets.open?.[3]).toMatchObject({ nonce: '4', attempts: 2, srcEid: 40101, dstEid: 40102 });
    // A record holding a quorum says since when (the submitter deadlines count from it); one below
    // quorum has no such field.
    expect(status.packets.open?.[2]?.quorumAt).toBe(1_700_000_000_000);
    expect(status.packets.open?.[0]).not.toHaveProperty('quorumAt');
    expect(status.packets.failed).toEqual([
      { guid: guid(2), reason: 'execute reverted: quorum' },
      { guid: guid(4), reason: 'lzReceive reverted: InsufficientCredit' },
    ]);
    // Plain JSON: nothing the HTTP layer would have to special-case.
    expect(() => JSON.stringify(status)).not.toThrow();
  });

  it('includes accounts and liquidations when the node has them', async () => {
    const status = await createStatusProvider(
      sources({
        accounts: async () => [{ account: '0x1', subaccount: 0, engines: [], collateral: [] }],
        liquidations: () => [
          { id: '0x9', account: '0x1', subaccount: 0, engineEid: 40102, state: 'sent', at: 5 },
        ],
      }),
    )();
    expect(status.accounts).toHaveLength(1);
    expect(status.liquidations[0]?.state).toBe('sent');
    expect(status.rebalances).toBeUndefined();
  });

  it('shows the rebalancer journal as status lines (rebalancer role only)', async () => {
    const chains = [
      {
        eid: 40102,
        name: 'devnet-b',
        tokens: [{ symbol: 'USDC', address: '0x00000000000000000000000000000000000000c1', decimals: 6 }],
      },
      { eid: 40103, name: 'devnet-c', tokens: [] },
    ] as unknown as ChainConfig[];
    const record: RebalanceRecord = {
      id: `0x${'1f'.repeat(32)}`,
      account: '0x00000000000000000000000000000000000000a1',
      subaccount: 1n,
      dstEngineEid: 40103,
      srcEngineEid: 40102,
      srcEid: 40102,
      token: '0x00000000000000000000000000000000000000C1',
      amount: 264_210_527n,
      valueUsd: 264_210_527n * 10n ** 12n,
      stateKey: `0x${'00'.repeat(32)}`,
      dstHealthBefore: 1_223_000_000_000_000_000n,
      dstHealthAfter: 1_600_000_000_000_000_000n,
      reason: 'health 1.2230 < trigger 1.2500',
      status: 'credited',
      rank: 0,
      latencyMs: 4_170,
      timestamps: { credited: 9 },
      updatedAt: 9,
    };
    const entries = rebalanceEntries([record], chains);
    expect(entries).toEqual([
      {
        id: record.id,
        account: '0x00000000000000000000000000000000000000A1',
        subaccount: '1',
        from: 'devnet-b',
        to: 'devnet-c',
        state: 'credited',
        at: 9,
        amount: '264.210527',
        symbol: 'USDC',
        valueUsd: 264.210527,
        healthBefore: 1.223,
        healthAfter: 1.6,
        latencyMs: 4_170,
      },
    ]);
    const status = await createStatusProvider(sources({ rebalances: () => entries }))();
    expect(status.rebalances).toEqual(entries);
  });

  it('measures the size of the store directory', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'xmargin-size-'));
    try {
      await writeFile(path.join(dir, '000001.log'), Buffer.alloc(1500));
      await writeFile(path.join(dir, 'CURRENT'), 'MANIFEST-000002\n');
      expect(await directorySize(dir)).toBe(1516);
      expect(await directorySize(path.join(dir, 'missing'))).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('packet timing', () => {
  it('times verification and delivery from the first time the packet was stored', async () => {
    let t = 10_000;
    const verified: number[] = [];
    const delivered: number[] = [];
    const timing = withPacketTiming(
      { records: memoryNodeStores().records, journal: memoryNodeStores().journal },
      { packetVerified: (s) => verified.push(s), packetDelivered: (s) => delivered.push(s) },
      () => t,
    );
    await timing.records.put(attest(1, 'collecting'));
    t += 1_500;
    await timing.journal.put(delivery(1, 'waiting')); // destination side: the clock already runs
    t += 2_000;
    await timing.records.put(attest(1, 'verified'));
    await timing.records.put(attest(1, 'committed'));
    await timing.records.put(attest(1, 'committed')); // rewritten: counted once
    t += 1_000;
    await timing.journal.put(delivery(1, 'delivered'));
    await timing.journal.put(delivery(1, 'delivered'));
    expect(verified).toEqual([3.5]);
    expect(delivered).toEqual([4.5]);
    expect(timing.counts()).toEqual({ verified: 1, delivered: 1 });
  });

  it('counts but does not time packets it did not see start (e.g. after a restart)', async () => {
    const records = memoryNodeStores().records;
    const journal = memoryNodeStores().journal;
    await records.put(attest(7, 'verified'));
    await journal.put(delivery(7, 'waiting'));
    const observed: number[] = [];
    const timing = withPacketTiming(
      { records, journal },
      { packetVerified: (s) => observed.push(s), packetDelivered: (s) => observed.push(s) },
    );
    await timing.records.put(attest(7, 'committed'));
    await timing.journal.put(delivery(7, 'delivered'));
    expect(observed).toEqual([]);
    expect(timing.counts()).toEqual({ verified: 1, delivered: 1 });
    // The wrapped stores still are the stores.
    expect((await journal.get(guid(7)))?.state).toBe('delivered');
    expect(await timing.records.open()).toEqual([]);
  });
});
