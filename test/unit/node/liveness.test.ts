import { describe, expect, it } from 'vitest';
import { livenessCutoff, SUBMITTER_LIVENESS_FLOOR_MS } from '../../../relayer/node/liveness.ts';

const NOW = 1_700_000_000_000;
/** Whether a peer last heard `silentMs` ago still counts as live for `role`. */
const live = (silentMs: number, heartbeatMs: number, role: Parameters<typeof livenessCutoff>[2]): boolean =>
  NOW - silentMs >= livenessCutoff(NOW, heartbeatMs, role);

describe('liveness window of the rankings', () => {
  it('keeps a stalled attestor ranked through a silence of several fast heartbeats', () => {
    // The fault suite's devnet: 1 s heartbeats. A first-ranked attestor silent for 3.5 s (stalled,
    // still submitting) must not be taken over, or the packet is verified twice.
    expect(live(3_500, 1_000, 'attestor')).toBe(true);
    expect(live(3_500, 1_000, 'executor')).toBe(true);
    expect(live(SUBMITTER_LIVENESS_FLOOR_MS - 1, 1_000, 'attestor')).toBe(true);
    // A node really gone still leaves the ranking, once.
    expect(live(SUBMITTER_LIVENESS_FLOOR_MS + 1, 1_000, 'attestor')).toBe(false);
  });

  it('uses three heartbeat intervals when that is longer than the floor', () => {
    expect(live(8_999, 3_000, 'attestor')).toBe(true);
    expect(live(9_001, 3_000, 'attestor')).toBe(false);
  });

  it('leaves the liquidator ranking at three intervals (claims and the deadline cover a stall)', () => {
    expect(live(2_999, 1_000, 'liquidator')).toBe(true);
    expect(live(3_500, 1_000, 'liquidator')).toBe(false);
    expect(live(3_500, 1_000, 'rebalancer')).toBe(false);
  });
});
