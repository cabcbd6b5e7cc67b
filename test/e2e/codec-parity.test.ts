// The TypeScript codec and the compiled MsgCodec library must write and read the same bytes: the
// relayer decodes what the contracts encode, and simulates what they will decode. This test deploys
// test/forge/harness/MsgCodecHarness.sol on a real anvil and compares both ways, for random bodies
// of every message type and for the inputs each side must refuse.

import { type Contract, ContractFactory, getAddress, JsonRpcProvider, type Result } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeMessage,
  encodeLock,
  encodeMessage,
  type Hex,
  type Lock,
  type Message,
  MessageDecodeError,
  MSG_TYPE,
  type MsgTypeName,
  messageId,
  VERSION,
} from '../../relayer/protocol/index.ts';
import { type Anvil, startAnvil } from '../support/anvil.ts';
import { ensureArtifacts, readArtifact } from '../support/artifacts.ts';
import { gen, RANDOM_MESSAGE, randomLock, SEED } from '../support/bodies.ts';

const ROUNDS = 16;
const CHAIN_ID = 71_001;

let anvil: Anvil | undefined;
let provider: JsonRpcProvider | undefined;
let harness: Contract;

beforeAll(async () => {
  await ensureArtifacts(['MsgCodecHarness'], { withTests: true });
  anvil = await startAnvil({ chainId: CHAIN_ID });
  provider = new JsonRpcProvider(anvil.rpcUrl, CHAIN_ID, { staticNetwork: true });
  const { abi, bytecode } = readArtifact('MsgCodecHarness');
  const factory = new ContractFactory(abi, bytecode, await provider.getSigner(0));
  harness = (await (await factory.deploy()).waitForDeployment()) as Contract;
});

afterAll(async () => {
  provider?.destroy();
  await anvil?.stop();
});

/** Calls the harness's encoder for the message's type. */
async function solidityEncode(message: Message): Promise<Hex> {
  switch (message.type) {
    case MSG_TYPE.LOCK:
      return (await harness.getFunction('encodeLock')(message.body)) as Hex;
    case MSG_TYPE.RELEASE:
    case MSG_TYPE.SEIZE:
      return (await harness.getFunction('encodePayout')(message.type, message.body)) as Hex;
    case MSG_TYPE.MOVE:
      return (await harness.getFunction('encodeMove')(message.body)) as Hex;
    case MSG_TYPE.HEARTBEAT:
      return (await harness.getFunction('encodeHeartbeat')(message.body.sentAt)) as Hex;
  }
}

/** Calls the harness's decoder for the message's type and returns the body as a TS object. */
async function solidityDecode(type: Message['type'], data: Hex): Promise<Message['body']> {
  if (type === MSG_TYPE.HEARTBEAT) {
    return { sentAt: (await harness.getFunction('decodeHeartbeat')(data)) as bigint };
  }
  const fn = type === MSG_TYPE.LOCK ? 'decodeLock' : type === MSG_TYPE.MOVE ? 'decodeMove' : 'decodePayout';
  const result = (await harness.getFunction(fn)(data)) as Result;
  const body = result.toObject() as Record<string, unknown>;
  // ethers returns uint32 as bigint; the TS body keeps an eid as a number.
  if (typeof body.dstEngineEid === 'bigint') body.dstEngineEid = Number(body.dstEngineEid);
  return body as unknown as Message['body'];
}

describe(`MsgCodec.sol and relayer/protocol agree (seed ${SEED})`, () => {
  it('on the version', async () => {
    expect(Number(await harness.getFunction('version')())).toBe(VERSION);
  });

  for (const name of Object.keys(MSG_TYPE) as MsgTypeName[]) {
    it(`${name}: byte-identical encodings, and each decodes the other's`, async () => {
      const g = gen(SEED + 100 + MSG_TYPE[name]);
      for (let i = 0; i < ROUNDS; i++) {
        const message = RANDOM_MESSAGE[name](g);
        const ts = encodeMessage(message);
        const sol = await solidityEncode(message);
        expect(ts).toBe(sol);
        expect(decodeMessage(sol)).toEqual(message);
        expect(await solidityDecode(message.type, ts)).toEqual(message.body);
        expect(Number(await harness.getFunction('msgType')(ts))).toBe(MSG_TYPE[name]);
      }
    });
  }

  it('on message ids', async () => {
    const g = gen(SEED + 200);
    for (let i = 0; i < ROUNDS; i++) {
      const srcEid = Number(g.uint(32));
      const sender = g.address();
      const nonce = g.uint(64);
      expect(messageId(srcEid, sender, nonce)).toBe(
        await harness.getFunction('messageId')(srcEid, sender, nonce),
      );
    }
  });
});

describe('both sides refuse bad input', () => {
  const g = gen(SEED + 300);
  const sample = (): Hex => encodeMessage(RANDOM_MESSAGE.MOVE(g));

  // Each TS error code next to the custom error (or plain revert) the library gives for the same bytes.
  const CASES: { label: string; data: () => Hex; code: string; revert: RegExp }[] = [
    { label: 'empty', data: () => '0x', code: 'TOO_SHORT', revert: /MessageTooShort/ },
    { label: 'one byte', data: () => '0x01', code: 'TOO_SHORT', revert: /MessageTooShort/ },
    {
      label: 'version 2',
      data: () => `0x02${sample().slice(4)}`,
      code: 'UNSUPPORTED_VERSION',
      revert: /UnsupportedVersion/,
    },
    {
      label: 'truncated body',
      data: () => sample().slice(0, -2) as Hex,
      code: 'MALFORMED',
      revert: /revert/,
    },
    {
      label: 'dirty uint32 bits',
      data: () => {
        const hex = sample();
        return `${hex.slice(0, -64)}${(1n << 32n).toString(16).padStart(64, '0')}` as Hex;
      },
      code: 'MALFORMED',
      revert: /revert/,
    },
  ];

  for (const { label, data, code, revert } of CASES) {
    it(`${label}: ${code} in TS, a revert in Solidity`, async () => {
      const bytes = data();
      expect(() => decodeMessage(bytes)).toThrow(MessageDecodeError);
      expect(() => decodeMessage(bytes)).toThrow(new RegExp(`^${code}`));
      await expect(harness.getFunction('decodeMove')(bytes)).rejects.toThrow(revert);
    });
  }

  it('trailing bytes: the one intended difference (Solidity ignores them, TS refuses them)', async () => {
    const message = RANDOM_MESSAGE.MOVE(g);
    const padded = `${encodeMessage(message)}00` as Hex;
    expect(await solidityDecode(MSG_TYPE.MOVE, padded)).toEqual(message.body);
    expect(() => decodeMessage(padded)).toThrow(/^MALFORMED/);
  });

  it('addresses come back checksummed from both sides', async () => {
    const lock = randomLock(g);
    const lower = encodeLock({ ...lock, account: lock.account.toLowerCase() });
    expect(((await solidityDecode(MSG_TYPE.LOCK, lower)) as Lock).account).toBe(getAddress(lock.account));
    expect((decodeMessage(lower).body as Lock).account).toBe(getAddress(lock.account));
  });
});
