// The worker side of a propagation round (./gossip-cluster.ts drives it): publishing this process's
// share of the shared schedule, recording deliveries on the shared clock, and what a round reports.
// Shared by the xmargin nodes' worker (./gossip-worker.ts) and the baseline's (./gossip-baseline-worker.ts).

import { clock, N, sleep } from './gossip-nodes.ts';
import type { FromWorker, ToWorker } from './gossip-worker.ts';

interface Round {
  seqBase: number;
  publishing: boolean;
  published: [number, number][];
  delivered: [number, number, number][];
  rawBefore: number;
  acceptedBefore: number;
}

/** Counters a worker keeps over its local nodes: full copies received (duplicates included), first copies. */
export interface CopyCounts {
  raw(): number;
  accepted(): number;
}

export class WorkerRounds {
  readonly #counts: CopyCounts;
  #round: Round | undefined;

  constructor(counts: CopyCounts) {
    this.#counts = counts;
  }

  get publishing(): boolean {
    return this.#round?.publishing ?? false;
  }
  get published(): number {
    return this.#round?.published.length ?? 0;
  }
  get delivered(): number {
    return this.#round?.delivered.length ?? 0;
  }
  /** Whether message `seq` belongs to the running round (rounds use a million sequence numbers each). */
  inRound(seq: number): boolean {
    const r = this.#round;
    return r !== undefined && seq >= r.seqBase && seq < r.seqBase + 1_000_000;
  }

  /** Notes message `seq`'s first delivery at local node `node`, if it belongs to the running round. */
  deliver(seq: number, node: number): void {
    if (this.inRound(seq)) this.#round?.delivered.push([seq, clock(), node]);
  }

  /**
   * Starts a round and publishes this worker's share of messages k = 0, 1, ... due at `rate` from
   * `startAt` on (message k from node k % N, seq = seqBase + k); `publish` returns undefined for a
   * node that is not local. Resolves once every publish has settled.
   */
  async run(
    m: { rate: number; seconds: number; startAt: number; seqBase: number },
    publish: (from: number, seq: number) => Promise<unknown> | undefined,
    onStarted: () => void,
  ): Promise<void> {
    const r: Round = {
      seqBase: m.seqBase,
      publishing: true,
      published: [],
      delivered: [],
      rawBefore: this.#counts.raw(),
      acceptedBefore: this.#counts.accepted(),
    };
    this.#round = r;
    onStarted();
    while (clock() < m.startAt) await sleep(Math.min(10, m.startAt - clock()));
    const publishes: Promise<unknown>[] = [];
    let k = 0;
    while (clock() - m.startAt < m.seconds * 1000) {
      // Catch up on what is due at each wake-up: a starved event loop publishes late, not less.
      const due = Math.floor(((clock() - m.startAt) / 1000) * m.rate) + 1;
      for (; k < due; k++) {
        const seq = r.seqBase + k;
        const at = clock();
        const sent = publish(k % N, seq);
        if (sent === undefined) continue;
        r.published.push([seq, at]);
        publishes.push(sent.catch(() => undefined));
      }
      await sleep(2);
    }
    await Promise.all(publishes);
    r.publishing = false;
  }

  /** Answers a round's `run` and `collect` requests (true); false for any other request. */
  async serve(
    m: ToWorker,
    publish: (from: number, seq: number) => Promise<unknown> | undefined,
    send: (reply: FromWorker) => void,
  ): Promise<boolean> {
    if (m.type === 'run') await this.run(m, publish, () => send({ type: 'started' }));
    else if (m.type === 'collect') send(this.collect());
    else return false;
    return true;
  }

  /** Ends the round: its publishes, deliveries and copy counts. */
  collect(): Extract<FromWorker, { type: 'collected' }> {
    const r = this.#round as Round;
    this.#round = undefined;
    return {
      type: 'collected',
      published: r.published,
      delivered: r.delivered,
      rawCopies: this.#counts.raw() - r.rawBefore,
      accepted: this.#counts.accepted() - r.acceptedBefore,
    };
  }
}

/** CPU time this process has used (user + system), ms. */
export function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}
