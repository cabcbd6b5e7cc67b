// The attestor's gossip intake: only DVN signers, only signatures that recover to their sender,
// only well-formed payloads, duplicates once; quorum is reached at exactly `quorum` distinct signers.
// Plus the rendezvous ranking every node must agree on.

import { solidityPacked, solidityPackedKeccak256, Wallet, zeroPadValue } from 'ethers';
import { describe, expect, it } from 'vitest';
import { Attestor, type DvnSignaturePayload } from '../../../attestor/attestor.ts';
import { dvnHash, signDvnHash, verifyCallData } from '../../../attestor/dvn.ts';
import type { LzChain } from '../../../attestor/lz.ts';
import { rendezvousOrder, rendezvousRank } from '../../../attestor/rendezvous.ts';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { memoryNodeStores } from '../../../relayer/node/stores.ts';
import type { GossipNetwork, SignedMessage } from '../../../relayer/p2p/types.ts';

const wallets = [1, 2, 3, 4].map((i) => new Wallet(`0x${(i + 10).toString(16).padStart(64, '0')}`));
const signers = wallets.slice(0, 3).map((w) => w.address as Address);
const RECEIVE_ULN = '0x00000000000000000000000000000000000000a1' as Address;
const VID = 10102;

// Only what onSignature touches: the destination's vid and receive library.
const dst = {
  config: { name: 'b', eid: 40102, layerZero: { receiveUln302: RECEIVE_ULN } },
  vid: async () => VID,
};
const gossip: GossipNetwork = {
  publish: async () => undefined,
  subscribe: () => undefined,
  signer: signers[0] as Address,
  peerId: 'p',
  stop: async () => undefined,
};

function packetFields(nonce = 1n) {
  const sender = zeroPadValue('0x1111111111111111111111111111111111111111', 32);
  const receiver = zeroPadValue('0x2222222222222222222222222222222222222222', 32);
  const guid = solidityPackedKeccak256(
    ['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [nonce, 40101, sender, 40102, receiver],
  ) as Hex;
  const header = solidityPacked(
    ['uint8', 'uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [1, nonce, 40101, sender, 40102, receiver],
  ) as Hex;
  return { guid, header, payloadHash: `0x${'33'.repeat(32)}` as Hex };
}

async function payloadFrom(
  wallet: Wallet,
  tweak: Partial<DvnSignaturePayload> = {},
  nonce = 1n,
): Promise<DvnSignaturePayload> {
  const { guid, header, payloadHash } = packetFields(nonce);
  const hash = dvnHash(VID, RECEIVE_ULN, 5000n, verifyCallData(header, payloadHash, 1n));
  return {
    srcEid: 40101,
    dstEid: 40102,
    nonce: String(nonce),
    guid,
    header,
    payloadHash,
    confirmations: '1',
    expiration: '5000',
    signature: await signDvnHash(wallet, hash),
    ...tweak,
  };
}

const msg = (signer: Address, payload: DvnSignaturePayload): SignedMessage<DvnSignaturePayload> => ({
  topic: 'dvnSignature',
  signer,
  fromPeer: 'x',
  sentAt: 0,
  payload,
  id: '0x00',
});

function setup() {
  const signatures = memoryNodeStores().signatures;
  const records = memoryNodeStores().records;
  const attestor = new Attestor(
    { dvn: { signers, quorum: 2 } },
    {
      wallet: wallets[0] as Wallet,
      gossip,
      chains: new Map([[40102, dst as unknown as LzChain]]),
      liveSigners: () => signers,
      signatures,
      records,
      queue: memoryNodeStores().queue,
      now: () => 1234,
    },
  );
  const hash = (() => {
    const { header, payloadHash } = packetFields();
    return dvnHash(VID, RECEIVE_ULN, 5000n, verifyCallData(header, payloadHash, 1n));
  })();
  return { attestor, signatures, records, hash };
}

describe('Attestor gossip intake', () => {
  it('reaches quorum at two distinct signers and ignores duplicates', async () => {
    const { attestor, signatures, records, hash } = setup();
    const p1 = await payloadFrom(wallets[1] as Wallet);
    await attestor.onSignature(msg(signers[1] as Address, p1));
    await attestor.onSignature(msg(signers[1] as Address, p1));
    expect(await signatures.list(hash)).toHaveLength(1);
    expect((await records.get(hash))?.quorumAt).toBeUndefined();
    await attestor.onSignature(msg(signers[2] as Address, await payloadFrom(wallets[2] as Wallet)));
    expect((await records.get(hash))?.quorumAt).toBe(1234);
  });

  it('drops a sender outside the DVN set, a signature by someone else, and malformed payloads', async () => {
    const { attestor, signatures, hash } = setup();
    const stranger = wallets[3] as Wallet;
    await attestor.onSignature(msg(stranger.address as Address, await payloadFrom(stranger)));
    // signed by signer 2, relayed as if from signer 1
    await attestor.onSignature(msg(signers[1] as Address, await payloadFrom(wallets[2] as Wallet)));
    // header claims another nonce than the payload field
    await attestor.onSignature(
      msg(signers[1] as Address, await payloadFrom(wallets[1] as Wallet, { nonce: '2' })),
    );
    // guid not derived from the header
    await attestor.onSignature(
      msg(signers[1] as Address, await payloadFrom(wallets[1] as Wallet, { guid: `0x${'44'.repeat(32)}` })),
    );
    await attestor.onSignature(
      msg(signers[1] as Address, await payloadFrom(wallets[1] as Wallet, { expiration: '-1' })),
    );
    // a destination this node does not serve
    await attestor.onSignature(
      msg(signers[1] as Address, await payloadFrom(wallets[1] as Wallet, { dstEid: 1 })),
    );
    expect(await signatures.list(hash)).toEqual([]);
  });
});

describe('Attestor tick', () => {
  it('closes a packet another attestor committed before its own turn comes', async () => {
    const { guid } = packetFields();
    // The signer ranked second for this packet: it would act 15 s after quorum.
    const second = rendezvousOrder(guid, signers)[1] as string;
    const wallet = wallets.find((w) => w.address.toLowerCase() === second) as Wallet;
    let committed = false;
    const records = memoryNodeStores().records;
    const attestor = new Attestor(
      { dvn: { signers, quorum: 2 } },
      {
        wallet,
        gossip,
        chains: new Map([[40102, { ...dst, committed: async () => committed } as unknown as LzChain]]),
        liveSigners: () => signers,
        signatures: memoryNodeStores().signatures,
        records,
        queue: memoryNodeStores().queue,
        now: () => 10_000,
      },
    );
    const others = wallets.slice(0, 3).filter((w) => w !== wallet);
    for (const w of others) await attestor.onSignature(msg(w.address as Address, await payloadFrom(w)));
    expect(await records.open()).toHaveLength(1);
    await attestor.tick();
    expect(await records.open()).toHaveLength(1); // not committed yet: still open, and not our turn
    committed = true;
    await attestor.tick(); // the republish interval has not passed: the chain is not asked again yet
    expect(await records.open()).toHaveLength(1);
    (attestor as unknown as { lastRepublish: number }).lastRepublish = 0;
    await attestor.tick();
    expect(await records.open()).toEqual([]);
  });
});

describe('Attestor republish', () => {
  it('keeps re-gossiping its own signature after it holds a quorum, until the chain shows the packet', async () => {
    const { guid } = packetFields();
    // Ranked second: with a quorum it waits, and the first-ranked may still lack our signature.
    const second = rendezvousOrder(guid, signers)[1] as string;
    const wallet = wallets.find((w) => w.address.toLowerCase() === second) as Wallet;
    const published: DvnSignaturePayload[] = [];
    let committed = false;
    const records = memoryNodeStores().records;
    const attestor = new Attestor(
      { dvn: { signers, quorum: 2 } },
      {
        wallet,
        gossip: {
          ...gossip,
          publish: async (_topic: string, payload: unknown) => {
            published.push(payload as DvnSignaturePayload);
            return undefined;
          },
        } as GossipNetwork,
        chains: new Map([[40102, { ...dst, committed: async () => committed } as unknown as LzChain]]),
        liveSigners: () => signers,
        signatures: memoryNodeStores().signatures,
        records,
        queue: memoryNodeStores().queue,
        now: () => 10_000,
      },
    );
    const own = await payloadFrom(wallet);
    for (const w of wallets.slice(0, 3).filter((x) => x !== wallet))
      await attestor.onSignature(msg(w.address as Address, await payloadFrom(w)));
    const [open] = await records.open();
    expect(open?.quorumAt).toBeDefined();
    await records.put({ ...(open as NonNullable<typeof open>), ownSignature: own.signature });

    const republishNow = () => {
      (attestor as unknown as { lastRepublish: number }).lastRepublish = 0;
    };
    republishNow();
    await attestor.tick();
    expect(published.map((p) => p.signature)).toEqual([own.signature]);
    committed = true;
    republishNow();
    await attestor.tick(); // the chain shows it: closed, not re-gossiped
    expect(published).toHaveLength(1);
    expect(await records.open()).toEqual([]);
  });
});

describe('Attestor submission', () => {
  it('submits a packet the moment it reaches its quorum, not behind a tick still waiting on another packet', async () => {
    // Two packets whose first-ranked signer is the same node.
    const first = (nonce: bigint) => rendezvousOrder(packetFields(nonce).guid, signers)[0] as string;
    const other = [2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n].find((n) => first(n) === first(1n)) as bigint;
    const wallet = wallets.find((w) => w.address.toLowerCase() === first(1n)) as Wallet;
    const executed: bigint[] = [];
    let release: () => void = () => undefined;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const chain = {
      ...dst,
      config: {
        ...dst.config,
        layerZero: { receiveUln302: RECEIVE_ULN, dvn: '0x00000000000000000000000000000000000000d1' },
      },
      // Packet 1's destination read hangs (a slow RPC), so the tick that advances it does not end.
      state: async (ref: { nonce: bigint }) => {
        if (ref.nonce === 1n) await stuck;
        return executed.includes(ref.nonce) ? 'verified' : 'pending';
      },
      ulnConfig: async () => ({ optionalDVNThreshold: 1, requiredDVNs: [] }),
      execute: async (_w: Wallet, params: { callData: Hex }[]) => {
        const isOther = params[0]?.callData.includes(packetFields(other).header.slice(2)) === true;
        executed.push(isOther ? other : 1n);
        return { ok: true, txHash: '0x01' };
      },
      verifiable: async () => false,
    };
    const records = memoryNodeStores().records;
    const attestor = new Attestor(
      { dvn: { signers, quorum: 2 }, tickMs: 10 },
      {
        wallet,
        gossip,
        chains: new Map([[40102, chain as unknown as LzChain]]),
        liveSigners: () => signers,
        signatures: memoryNodeStores().signatures,
        records,
        queue: memoryNodeStores().queue,
      },
    );
    const others = wallets.slice(0, 3).filter((w) => w !== wallet);
    for (const w of others)
      await attestor.onSignature(msg(w.address as Address, await payloadFrom(w, {}, 1n)));
    await attestor.start();
    // The tick picks packet 1 up and waits on it.
    await new Promise((r) => setTimeout(r, 50));
    expect(executed).toEqual([]);
    for (const w of others)
      await attestor.onSignature(msg(w.address as Address, await payloadFrom(w, {}, other)));
    await expect.poll(() => executed, { timeout: 1000 }).toEqual([other]);
    release();
    await expect.poll(() => executed).toEqual([other, 1n]);
    attestor.stop();
  });
});

describe('rendezvous', () => {
  it('gives every node the same order, and a node’s rank ignores the order of the live list', () => {
    const key = `0x${'ab'.repeat(32)}` as Hex;
    const order = rendezvousOrder(key, signers);
    expect(rendezvousOrder(key, [...signers].reverse())).toEqual(order);
    expect(order.map((s) => rendezvousRank(key, s, signers))).toEqual([0, 1, 2]);
    // the first-ranked node gone: the second moves up, others keep their relative order
    const rest = order.slice(1);
    expect(rendezvousRank(key, rest[0] as Address, rest)).toBe(0);
  });
});
