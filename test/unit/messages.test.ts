import { getAddress } from 'ethers';
import { describe, expect, it } from 'vitest';
import {
  DECODE_ERROR,
  type DecodeErrorCode,
  decodeLock,
  decodeMessage,
  decodeMove,
  decodePayout,
  encodeLock,
  encodeMessage,
  encodeMove,
  encodePayout,
  type Hex,
  MessageDecodeError,
  type Move,
  MSG_TYPE,
  type MsgTypeName,
  messageId,
  messageNonce,
  messageType,
  VERSION,
} from '../../relayer/protocol/index.ts';
import { gen, RANDOM_MESSAGE, randomLock, randomMove, randomPayout, SEED } from '../support/bodies.ts';

const ROUNDS = 64;
const WORDS: Record<MsgTypeName, number> = { LOCK: 5, RELEASE: 6, SEIZE: 6, MOVE: 6, HEARTBEAT: 1 };

// A MOVE whose body was written independently by `cast abi-encode`, not by the code under test.
const GOLDEN_MOVE: Move = {
  id: '0x1111111111111111111111111111111111111111111111111111111111111111',
  account: '0x000000000000000000000000000000000000dEaD',
  subaccount: 7n,
  token: '0x00000000000000000000000000000000DeaDBeef',
  amount: 10n ** 18n,
  dstEngineEid: 30110,
};
const GOLDEN_MOVE_HEX =
  '0x0104' +
  '1111111111111111111111111111111111111111111111111111111111111111' +
  '000000000000000000000000000000000000000000000000000000000000dead' +
  '0000000000000000000000000000000000000000000000000000000000000007' +
  '00000000000000000000000000000000000000000000000000000000deadbeef' +
  '0000000000000000000000000000000000000000000000000de0b6b3a7640000' +
  '000000000000000000000000000000000000000000000000000000000000759e';

function codeOf(fn: () => unknown): DecodeErrorCode | 'NO_ERROR' | 'OTHER_ERROR' {
  try {
    fn();
    return 'NO_ERROR';
  } catch (err) {
    return err instanceof MessageDecodeError ? err.code : 'OTHER_ERROR';
  }
}

/** Replaces the 32-byte word `index` of a message's body. */
function withWord(message: Hex, index: number, word: string): Hex {
  const start = 2 + 4 + index * 64;
  return `${message.slice(0, start)}${word.padStart(64, '0')}${message.slice(start + 64)}` as Hex;
}

describe('MSG_TYPE', () => {
  it('matches MsgCodec.sol', () => {
    expect(VERSION).toBe(1);
    expect(MSG_TYPE).toEqual({ LOCK: 1, RELEASE: 2, SEIZE: 3, MOVE: 4, HEARTBEAT: 5 });
  });
});

describe(`round trips (seed ${SEED})`, () => {
  for (const name of Object.keys(MSG_TYPE) as MsgTypeName[]) {
    it(`${name}: decode(encode(m)) == m, with the header and ${WORDS[name]} words`, () => {
      const g = gen(SEED + MSG_TYPE[name]);
      for (let i = 0; i < ROUNDS; i++) {
        const message = RANDOM_MESSAGE[name](g);
        const hex = encodeMessage(message);
        expect(hex.slice(0, 6)).toBe(`0x01${MSG_TYPE[name].toString(16).padStart(2, '0')}`);
        expect((hex.length - 2) / 2).toBe(2 + 32 * WORDS[name]);
        expect(messageType(hex)).toBe(MSG_TYPE[name]);
        expect(decodeMessage(hex)).toEqual(message);
      }
    });
  }

  it('typed decoders return the body of their own type', () => {
    const g = gen(SEED);
    const lock = randomLock(g);
    const payout = randomPayout(g);
    const move = randomMove(g);
    expect(decodeLock(encodeLock(lock))).toEqual(lock);
    expect(decodePayout(encodePayout(MSG_TYPE.RELEASE, payout))).toEqual({
      type: MSG_TYPE.RELEASE,
      body: payout,
    });
    expect(decodePayout(encodePayout(MSG_TYPE.SEIZE, payout))).toEqual({
      type: MSG_TYPE.SEIZE,
      body: payout,
    });
    expect(decodeMove(encodeMove(move))).toEqual(move);
  });

  it('accepts bytes as well as hex, and checksums addresses it decodes', () => {
    const body = { ...GOLDEN_MOVE, account: GOLDEN_MOVE.account.toLowerCase() };
    const hex = encodeMove(body);
    const bytes = Uint8Array.from(Buffer.from(hex.slice(2), 'hex'));
    expect(decodeMove(bytes).account).toBe(getAddress(GOLDEN_MOVE.account));
  });

  it('matches a vector encoded by cast', () => {
    expect(encodeMove(GOLDEN_MOVE)).toBe(GOLDEN_MOVE_HEX);
    expect(decodeMove(GOLDEN_MOVE_HEX)).toEqual(GOLDEN_MOVE);
  });
});

describe('encode refuses what does not fit the Solidity types', () => {
  it('out-of-range fields and a wrong payout type', () => {
    expect(() => encodeLock({ ...GOLDEN_MOVE, subaccount: 1n << 96n })).toThrow();
    expect(() => encodeLock({ ...GOLDEN_MOVE, amount: -1n })).toThrow();
    expect(() => encodeMove({ ...GOLDEN_MOVE, dstEngineEid: 2 ** 32 })).toThrow();
    expect(() => encodeLock({ ...GOLDEN_MOVE, id: '0x11' })).toThrow();
    expect(() =>
      encodePayout(MSG_TYPE.LOCK as never, { ...GOLDEN_MOVE, recipient: GOLDEN_MOVE.token }),
    ).toThrow(RangeError);
  });
});

describe('decode errors carry a fixed code', () => {
  // Keyed by code, so a new code without a case does not compile.
  const CASES: Record<DecodeErrorCode, Record<string, string>> = {
    TOO_SHORT: { empty: '0x', 'version only': '0x01' },
    UNSUPPORTED_VERSION: {
      'version 0': `0x00${GOLDEN_MOVE_HEX.slice(4)}`,
      'version 2': `0x02${GOLDEN_MOVE_HEX.slice(4)}`,
      'header of version 2 only': '0x0201',
    },
    UNKNOWN_TYPE: {
      'type 0': '0x0100',
      'type 6': `0x0106${GOLDEN_MOVE_HEX.slice(6)}`,
      'type 255': '0x01ff',
    },
    MALFORMED: {
      'header only': '0x0104',
      'one byte short': GOLDEN_MOVE_HEX.slice(0, -2),
      'one trailing byte': `${GOLDEN_MOVE_HEX}00`,
      'a LOCK body under the MOVE type': GOLDEN_MOVE_HEX.slice(0, -64),
      'dirty address bits': withWord(GOLDEN_MOVE_HEX as Hex, 1, `01${'00'.repeat(11)}${'ab'.repeat(20)}`),
      'dirty uint96 bits': withWord(GOLDEN_MOVE_HEX as Hex, 2, (1n << 96n).toString(16)),
      'dirty uint32 bits': withWord(GOLDEN_MOVE_HEX as Hex, 5, (1n << 32n).toString(16)),
      'not hex': '0xzz',
      'odd-length hex': '0x010',
      'no 0x prefix': GOLDEN_MOVE_HEX.slice(2),
    },
  };

  for (const [code, inputs] of Object.entries(CASES)) {
    for (const [label, input] of Object.entries(inputs)) {
      it(`${code}: ${label}`, () => {
        expect(codeOf(() => decodeMessage(input))).toBe(code);
      });
    }
  }

  it('every code has a case and is its own name', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(DECODE_ERROR).sort());
    for (const [key, value] of Object.entries(DECODE_ERROR)) expect(value).toBe(key);
  });

  it('messageType checks the header the same way', () => {
    expect(codeOf(() => messageType('0x01'))).toBe('TOO_SHORT');
    expect(codeOf(() => messageType('0x0201'))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf(() => messageType('0x0109'))).toBe('UNKNOWN_TYPE');
  });

  it('a typed decoder given another type says UNKNOWN_TYPE', () => {
    expect(codeOf(() => decodeLock(GOLDEN_MOVE_HEX))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => decodePayout(GOLDEN_MOVE_HEX))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => decodeMove(encodeLock(GOLDEN_MOVE)))).toBe('UNKNOWN_TYPE');
  });

  it('the error message names the code and what was wrong', () => {
    try {
      decodeMessage('0x0201');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MessageDecodeError);
      expect((err as Error).message).toMatch(/^UNSUPPORTED_VERSION: version 2/);
    }
  });
});

describe('messageId', () => {
  const sender = '0x00000000000000000000000000000000DeaDBeef';

  it('is abi.encodePacked(uint32, address, uint64): eid, sender and nonce side by side', () => {
    expect(messageId(30101, sender, 7n)).toBe(
      '0x0000759500000000000000000000000000000000deadbeef0000000000000007',
    );
    expect(messageNonce(messageId(30101, sender, (1n << 64n) - 1n))).toBe((1n << 64n) - 1n);
  });

  it("gives one sender's consecutive nonces consecutive ids (the contracts' replay bitmaps rely on it)", () => {
    expect(BigInt(messageId(30101, sender, 8n)) - BigInt(messageId(30101, sender, 7n))).toBe(1n);
  });

  it('changes with each input and does not depend on address case', () => {
    const base = messageId(30101, sender, 7n);
    expect(messageId(30102, sender, 7n)).not.toBe(base);
    expect(messageId(30101, '0x00000000000000000000000000000000DeaDBeeF'.toLowerCase(), 7n)).toBe(base);
    expect(messageId(30101, '0x00000000000000000000000000000000deadbee0', 7n)).not.toBe(base);
    expect(messageId(30101, sender, 8n)).not.toBe(base);
  });

  it('refuses inputs outside uint32 / uint64 and mistyped (bad checksum) addresses', () => {
    expect(() => messageId(1, '0x00000000000000000000000000000000DeaDBee0', 0n)).toThrow(/checksum/);
    expect(() => messageId(2 ** 32, sender, 0n)).toThrow();
    expect(() => messageId(1, sender, 1n << 64n)).toThrow();
  });
});
