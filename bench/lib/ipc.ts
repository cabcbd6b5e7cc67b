// Request/reply over a forked child's IPC channel, for benches that put nodes in other processes:
// replies come back in order, so `ask` pairs each request with the next message.

import type { ChildProcess } from 'node:child_process';

export interface Channel<In, Out> {
  /** The next message from the child (e.g. its 'ready'). */
  next(): Promise<Out>;
  /** Sends a request and returns the child's reply. */
  ask(message: In): Promise<Out>;
  send(message: In): void;
  /** Sends `stop` and waits for the child to exit (killed after `timeoutMs`). */
  stop(stop: In, timeoutMs?: number): Promise<void>;
}

export function channel<In, Out>(child: ChildProcess): Channel<In, Out> {
  const replies: Out[] = [];
  const waiters: ((m: Out) => void)[] = [];
  child.on('message', (m: Out) => {
    const w = waiters.shift();
    if (w) w(m);
    else replies.push(m);
  });
  const next = () =>
    new Promise<Out>((resolve) => {
      const r = replies.shift();
      if (r !== undefined) resolve(r);
      else waiters.push(resolve);
    });
  const send = (message: In) => {
    child.send(message as object);
  };
  return {
    next,
    send,
    ask: (message) => {
      send(message);
      return next();
    },
    stop: async (stop, timeoutMs = 10_000) => {
      if (child.connected) send(stop);
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const t = setTimeout(() => {
          child.kill('SIGKILL');
          resolve();
        }, timeoutMs);
        child.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    },
  };
}
