// The liquidation journal on the level store: its own bucket (20), bigints round-trip, ids per state.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from '../../../relayer/config/types.ts';
import { attemptId, levelJournal } from '../../../relayer/liquidation/journal.ts';
import type { LiquidationRecord } from '../../../relayer/liquidation/types.ts';
import { BUCKETS, openStore } from '../../../relayer/store/index.ts';

const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;

describe('liquidation journal', () => {
  it('keeps one record per (engine, account, subaccount, state) in bucket 20, bigints intact', async () => {
    expect(BUCKETS.liquidationJournal).toBe(20);
    const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-liq-'));
    try {
      const store = await openStore(dir);
      const journal = levelJournal(store);
      const s1 = `0x${'11'.repeat(32)}` as Hex;
      const s2 = `0x${'22'.repeat(32)}` as Hex;
      expect(attemptId(1, ACCOUNT, 0n, s1)).not.toBe(attemptId(1, ACCOUNT, 0n, s2));
      expect(attemptId(1, ACCOUNT, 0n, s1)).not.toBe(attemptId(1, ACCOUNT, 1n, s1));
      const record: LiquidationRecord = {
        id: attemptId(1, ACCOUNT, 2n ** 90n, s1),
        engineEid: 1,
        account: ACCOUNT,
        subaccount: 2n ** 90n,
        stateKey: s1,
        status: 'landed',
        rank: 0,
        healthBefore: 7n * 10n ** 17n,
        seizures: [{ id: s2, srcEid: 2, token: ACCOUNT, amount: 10n ** 30n, status: 'paid', latencyMs: 0 }],
        timestamps: { claimed: 1, sent: 2, landed: 3 },
        updatedAt: 3,
      };
      await journal.put(record);
      await store.close();
      const reopened = levelJournal(await openStore(dir));
      expect(await reopened.get(record.id)).toEqual(record);
      expect(await reopened.list()).toEqual([record]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
