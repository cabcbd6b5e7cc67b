// The hand decoder of one-word event parameters against ethers' own, for every event the margin view
// decodes: random values, encoded by ethers, must decode to the same values (addresses lower-cased).

import { type EventFragment, hexlify, type Interface, randomBytes, toBeHex, zeroPadValue } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ENGINE_EVENTS, FEED_EVENTS, MARKET_EVENTS, VAULT_EVENTS } from '../../../relayer/margin/decode.ts';
import { compileEvent, decodeCompiled } from '../../../relayer/margin/fast-abi.ts';

const IFACES: [string, Interface][] = [
  ['vault', VAULT_EVENTS],
  ['engine', ENGINE_EVENTS],
  ['market', MARKET_EVENTS],
  ['feed', FEED_EVENTS],
];

function randomValue(type: string): unknown {
  const int = /^(u?)int(\d*)$/.exec(type);
  if (int !== null) {
    const bits = Number(int[2] || 256);
    const u = BigInt(hexlify(randomBytes(bits / 8)));
    return int[1] === 'u' ? u : BigInt.asIntN(bits, u);
  }
  if (type === 'address') return hexlify(randomBytes(20));
  if (type === 'bool') return Math.random() < 0.5;
  if (type === 'bytes32') return hexlify(randomBytes(32));
  throw new Error(`no random ${type}`);
}

const norm = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : v);

describe('decodeCompiled', () => {
  const events: [string, Interface, EventFragment][] = [];
  for (const [role, iface] of IFACES) iface.forEachEvent((e) => void events.push([role, iface, e]));

  it('compiles every flat event and leaves those with tuples to ethers', () => {
    const compiled = events
      .filter(([, , e]) => compileEvent(e) !== undefined)
      .map(([r, , e]) => `${r}.${e.name}`);
    expect(compiled).toContain('engine.Liquidated');
    expect(compiled).toContain('market.PositionChanged');
    expect(compiled).toContain('feed.AnswerUpdated');
    expect(compiled).not.toContain('engine.RiskAssetSet');
    expect(compiled.length).toBeGreaterThanOrEqual(18);
  });

  it('decodes what ethers decodes, for 50 random logs of each compiled event', () => {
    let checked = 0;
    for (const [, iface, e] of events) {
      const compiled = compileEvent(e);
      if (compiled === undefined) continue;
      for (let n = 0; n < 50; n++) {
        const values = e.inputs.map((p) => randomValue(p.type));
        const { data, topics } = iface.encodeEventLog(e, values);
        const ours = decodeCompiled(compiled, data, topics);
        const theirs = iface.decodeEventLog(e, data, topics);
        expect(ours).toBeDefined();
        for (const p of e.inputs) expect(norm(ours?.[p.name])).toEqual(norm(theirs[p.name]));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(900);
  });

  it('refuses what ethers cannot read: dirty address words, wrong data length, missing topics', () => {
    const e = ENGINE_EVENTS.getEvent('Liquidated') as EventFragment;
    const compiled = compileEvent(e);
    if (compiled === undefined) throw new Error('Liquidated must compile');
    const values = e.inputs.map((p) => randomValue(p.type));
    const { data, topics } = ENGINE_EVENTS.encodeEventLog(e, values);
    expect(decodeCompiled(compiled, data, topics)).toBeDefined();
    const dirty = [...topics];
    dirty[1] = toBeHex(BigInt(zeroPadValue(values[0] as string, 32)) | (1n << 200n), 32);
    // ethers decodes lazily: the bad value throws when read.
    expect(() => ENGINE_EVENTS.decodeEventLog(e, data, dirty).account).toThrow(
      /deferred error during ABI decoding/,
    );
    expect(decodeCompiled(compiled, data, dirty)).toBeUndefined();
    expect(decodeCompiled(compiled, `${data}00`, topics)).toBeUndefined();
    expect(decodeCompiled(compiled, data.slice(0, -64), topics)).toBeUndefined();
    expect(decodeCompiled(compiled, data, topics.slice(0, 3))).toBeUndefined();
  });
});
