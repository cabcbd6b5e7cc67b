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

function packetFields() {
  const sender = zeroPadValue('0x1111111111111111111111111111111111111111', 32);
  const receiver = zeroPadValue('0x2222222222222222222222222222222222222222', 32);
  const guid = solidityPackedKeccak256(
    ['uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [1n, 40101, sender, 40102, receiver],
  ) as Hex;
  const header = solidityPacked(
    ['uint8', 'uint64', 'uint32', 'bytes32', 'uint32', 'bytes32'],
    [1, 1n, 40101, sender, 40102, receiver],
  ) as Hex;
  return { guid, header, payloadHash: `0x${'33'.repeat(32)}` as Hex };
}

async function payloadFrom(
  wallet: Wallet,
  tweak: Partial<DvnSignaturePayload> = {},
): Promise<DvnSignaturePayload> {
  const { guid, header, payloadHash } = packetFields();
  const hash = dvnHash(VID, RECEIVE_ULN, 5000n, verifyCallData(header, payloadHash, 1n));
  return {
    srcEid: 40101,
    dstEid: 40102,
    nonce: '1',
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
