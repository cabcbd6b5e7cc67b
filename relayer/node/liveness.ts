// How long a silent peer still counts as live when the nodes rank who acts (rendezvous order over
// the live nodes of a role). A peer heartbeats every `heartbeatMs` and counts as live while its
// heartbeats keep arriving within LIVENESS_INTERVALS of them. For the attestor and executor rankings
// that window has a floor: an attestor that takes over from a first-ranked node which is only
// stalled (a catch-up after a restart, GC, a loaded host: 3.5 s seen on the fault suite's devnet with
// its 1 s heartbeats) while that node still submits sends a second DVN.execute for the same packet,
// verified twice. The liquidators keep the plain window: their claims and deadline cover a stall.

export const LIVENESS_INTERVALS = 3;
/** The shortest silence after which an attestor or executor is ranked as gone. */
export const SUBMITTER_LIVENESS_FLOOR_MS = 6_000;

export type RankedRole = 'attestor' | 'executor' | 'liquidator' | 'rebalancer';

/** Heartbeats older than this (ms since epoch) no longer make a peer live for `role`'s ranking. */
export function livenessCutoff(now: number, heartbeatMs: number, role: RankedRole): number {
  const window = LIVENESS_INTERVALS * heartbeatMs;
  const floor = role === 'attestor' || role === 'executor' ? SUBMITTER_LIVENESS_FLOOR_MS : 0;
  return now - Math.max(window, floor);
}
