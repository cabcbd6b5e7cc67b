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

export function createTicker(pass: () => Promise<void>, intervalMs: number): Ticker {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const wake = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await pass();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
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
