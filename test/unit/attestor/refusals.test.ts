// The attestor's refusals to sign: each error maps to one bounded reason (a disagreement between the
// source chain's RPCs above all), counts add up, the latest ten are kept newest first with a one-line
// detail, and the metric hook sees every refusal.

import { describe, expect, it } from 'vitest';
import { NotConfirmedError, RefusalLog, refusalReason } from '../../../attestor/refusals.ts';
import { RPC_ERROR, RpcDisagreement, RpcError } from '../../../relayer/chain/rpc.ts';
import type { Hex } from '../../../relayer/config/types.ts';

const guid = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const disagreement = new RpcDisagreement('devnet-a', 'logs {"blockHash":"0x01"}', [
  { url: 'http://honest', answer: '[{"data":"0x01"}]' },
  { url: 'http://liar', answer: '[{"data":"0x02"}]' },
]);

describe('attestor refusals', () => {
  it('classifies why a packet was not signed', () => {
    expect(refusalReason(disagreement)).toBe('rpc_disagreement');
    expect(refusalReason(new NotConfirmedError('PacketSent 0x01 not confirmed by every RPC'))).toBe(
      'not_confirmed',
    );
    expect(refusalReason(new RpcError(RPC_ERROR.timeout, 'devnet-a', 'timed out'))).toBe('rpc_error');
    expect(refusalReason(new Error('boom'))).toBe('error');
  });

  it('counts per reason, keeps the latest ten newest first, and calls the hook each time', () => {
    const seen: string[] = [];
    let clock = 100;
    const log = new RefusalLog({ now: () => clock++, onRefusal: (r) => seen.push(r) });
    expect(log.snapshot()).toEqual({
      total: 0,
      byReason: { rpc_disagreement: 0, not_confirmed: 0, rpc_error: 0, error: 0 },
      recent: [],
    });
    for (let i = 0; i < 11; i++) log.record(guid(i), disagreement);
    log.record(guid(99), new Error('line one\n  line two'));
    const snap = log.snapshot();
    expect(snap.total).toBe(12);
    expect(snap.byReason).toEqual({ rpc_disagreement: 11, not_confirmed: 0, rpc_error: 0, error: 1 });
    expect(snap.recent).toHaveLength(10);
    expect(snap.recent[0]).toEqual({ guid: guid(99), reason: 'error', detail: 'line one line two', at: 111 });
    expect(snap.recent[1]?.guid).toBe(guid(10));
    expect(snap.recent[1]?.detail).toMatch(/^RPCs of chain devnet-a disagree on logs/);
    expect(seen).toHaveLength(12);
    // A snapshot is a copy: changing it changes nothing in the log.
    snap.byReason.error = 1000;
    expect(log.snapshot().byReason.error).toBe(1);
  });
});
