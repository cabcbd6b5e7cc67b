// The loop of a coordinated role (liquidator, rebalancer): one pass every `intervalMs`, and one as
// soon as something wakes it (a margin change). Passes never overlap: a wake-up during a pass runs
// one more right after it, so no change is missed and none is handled twice at once.

export interface Ticker {
  /** Runs a pass now (or right after the running one); resolves when it is done. */
  wake(): Promise<void>;
  start(): void;
  /** Stops the clock; resolves once the running pass is done. */
  stop(): Promise<void>;
}

/**
 * `pass` made non-overlapping: calling the result runs a pass now, or — when one is running — once
 * more right after it; it resolves when that run is done. Nothing runs once `stopped()` is true.
 */
export function coalesce(pass: () => Promise<void>, stopped: () => boolean): () => Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  return () => {
    if (stopped()) return Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await pass();
      } while (again && !stopped());
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
}

export function createTicker(pass: () => Promise<void>, intervalMs: number): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;
  const run = coalesce(pass, () => stopped);
  const wake = (): Promise<void> => {
    running = run();
    return running;
  };
  const loop = async (): Promise<void> => {
    if (stopped) return;
    await wake();
    if (!stopped) timer = setTimeout(loop, intervalMs);
  };
  return {
    wake,
    start() {
      timer = setTimeout(loop, 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
