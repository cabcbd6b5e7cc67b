// A liquidation that settles bad debt: the coordinator reads BadDebtSettled out of its receipt (only
// the engine's), journals it, and the node status shows it per liquidation.

import type { TransactionReceipt } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { Address, ChainConfig, Hex } from '../../../relayer/config/types.ts';
import { ENGINE } from '../../../relayer/liquidation/abi.ts';
import { badDebtOf } from '../../../relayer/liquidation/follow-up.ts';
import type { LiquidationRecord } from '../../../relayer/liquidation/types.ts';
import { liquidationEntries } from '../../../relayer/node/margin-status.ts';

const ENGINE_ADDR = '0x00000000000000000000000000000000000000e1' as Address;
const ACCOUNT = '0x00000000000000000000000000000000000000a1' as Address;

function settledLog(address: string, covered: bigint, writtenOff: bigint) {
  const { topics, data } = ENGINE.encodeEventLog('BadDebtSettled', [ACCOUNT, 0n, covered, writtenOff]);
  return { address, topics, data };
}

const receipt = (logs: ReturnType<typeof settledLog>[]) => ({ logs }) as unknown as TransactionReceipt;

describe('bad debt of a liquidation', () => {
  it("reads the engine's BadDebtSettled and ignores the same event from another contract", () => {
    expect(badDebtOf(receipt([]), ENGINE_ADDR)).toBeUndefined();
    expect(badDebtOf(receipt([settledLog(`0x${'99'.repeat(20)}`, 5n, 6n)]), ENGINE_ADDR)).toBeUndefined();
    expect(
      badDebtOf(
        receipt([settledLog(`0x${'99'.repeat(20)}`, 5n, 6n), settledLog(ENGINE_ADDR, 2_000n, 1_060n)]),
        ENGINE_ADDR,
      ),
    ).toEqual({ coveredByInsurance: 2_000n, writtenOff: 1_060n });
  });

  it('shows up in the status entry of the landed liquidation', () => {
    const plain: LiquidationRecord = {
      id: `0x${'01'.repeat(32)}` as Hex,
      engineEid: 40_102,
      account: ACCOUNT,
      subaccount: 0n,
      stateKey: `0x${'02'.repeat(32)}` as Hex,
      status: 'landed',
      rank: 0,
      timestamps: { landed: 1 },
      updatedAt: 1,
    };
    const record: LiquidationRecord = {
      ...plain,
      badDebt: { coveredByInsurance: 2_000n, writtenOff: 1_060n },
    };
    const [entry] = liquidationEntries([record], [{ name: 'devnet-b', eid: 40_102 } as ChainConfig]);
    expect(entry?.badDebt).toEqual({ coveredByInsurance: '2000', writtenOff: '1060' });
    expect(liquidationEntries([plain], [])[0]).not.toHaveProperty('badDebt');
  });
});
