// The view's event fragments must be the contracts' events: same topics as the compiled ABIs, and
// a log round-trips into the typed union.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Interface } from 'ethers';
import { describe, expect, it } from 'vitest';
import { OUT_DIR } from '../../../relayer/chain/artifacts.ts';
import type { ChainLog } from '../../../relayer/chain/rpc.ts';
import type { Hex } from '../../../relayer/config/types.ts';
import {
  decodeLog,
  ENGINE_EVENTS,
  FEED_EVENTS,
  MARKET_EVENTS,
  VAULT_EVENTS,
} from '../../../relayer/margin/decode.ts';

const abi = (name: string) =>
  new Interface(
    (JSON.parse(readFileSync(path.join(OUT_DIR, `${name}.sol`, `${name}.json`), 'utf8')) as { abi: [] }).abi,
  );

describe('decode', () => {
  it.each([
    ['CollateralVault', VAULT_EVENTS],
    ['MarginEngine', ENGINE_EVENTS],
    ['PerpMarket', MARKET_EVENTS],
    ['SettableAggregator', FEED_EVENTS],
  ] as const)('%s: every fragment has the compiled topic', (name, ours) => {
    const compiled = abi(name);
    ours.forEachEvent((e) => {
      expect(compiled.getEvent(e.name)?.topicHash, `${name}.${e.name}`).toBe(e.topicHash);
    });
  });

  it('decodes a Debited log into the union', () => {
    const id = `0x${'ab'.repeat(32)}` as Hex;
    const account = `0x${'11'.repeat(20)}`;
    const encoded = ENGINE_EVENTS.encodeEventLog('Debited', [
      id,
      3,
      account,
      5n,
      40_101,
      `0x${'22'.repeat(20)}`,
      7n,
      `0x${'33'.repeat(20)}`,
      0,
    ]);
    const log: ChainLog = {
      address: `0x${'44'.repeat(20)}`,
      topics: encoded.topics as Hex[],
      data: encoded.data as Hex,
      blockNumber: 1,
      blockHash: '0x00',
      transactionHash: '0x00',
      transactionIndex: 0,
      logIndex: 0,
    };
    expect(decodeLog('engine', log)).toEqual({
      type: 'Debited',
      id,
      kind: 3,
      account,
      subaccount: 5n,
      srcEid: 40_101,
      token: `0x${'22'.repeat(20)}`,
      amount: 7n,
      recipient: `0x${'33'.repeat(20)}`,
      dstEngineEid: 0,
    });
    expect(decodeLog('vault', log)).toBeUndefined();
  });
});
