// The takeover rule of coordinated actions (liquidations, rebalances): the node ranked k by rendezvous
// hashing acts k deadlines after it first saw the need, and only while no claim it heard is still
// within its deadline. Every node applies the same rule to the same inputs.

/** Whether a node of `rank` that first saw the need at `detectedAt` may act at `now`. */
export function isMyTurn(
  detectedAt: number,
  rank: number,
  deadlineMs: number,
  claimDeadline: number | undefined,
  now: number,
): boolean {
  const claimLive = claimDeadline !== undefined && claimDeadline > now;
  return now >= detectedAt + rank * deadlineMs && !claimLive;
}
