// Starts a throwaway anvil chain (for a test or the devnet) and stops it again, leaving no process behind.
//
// The npm `anvil` command (node_modules/.bin/anvil) is a Node wrapper that spawns the native binary
// and exits on SIGTERM without waiting for it, so killing the wrapper would not tell us when the
// chain is really gone. We therefore start the native binary from the platform package the wrapper
// would use, and fall back to the wrapper (in its own process group, killed as a group) only when
// that package cannot be found.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import path from 'node:path';

export interface AnvilOptions {
  /** Chain id the node reports (`--chain-id`). Default 31337. */
  chainId?: number;
  /** Extra command-line arguments, e.g. ['--block-time', '1']. */
  args?: readonly string[];
  /** How long to wait for the node to answer eth_chainId. Default 20 s (2 shared cores). */
  startTimeoutMs?: number;
}

export interface Anvil {
  rpcUrl: string;
  port: number;
  chainId: number;
  /** Kills the node and resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const ROOT = path.resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);

/** Asks the kernel for a free TCP port by listening on port 0, then frees it for anvil. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: no TCP address'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function anvilCommand(): { file: string; viaWrapper: boolean } {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    const native = require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${exe}`);
    if (existsSync(native)) return { file: native, viaWrapper: false };
  } catch {
    // no platform package: use the wrapper below
  }
  return { file: path.join(ROOT, 'node_modules', '.bin', 'anvil'), viaWrapper: true };
}

/** Starts anvil on a free port; retries with another port if it lost the port to someone else. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const attempts = 3;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(await freePort(), options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof AnvilExitedError)) break;
    }
  }
  throw lastError;
}

class AnvilExitedError extends Error {}

async function startOnce(port: number, options: AnvilOptions): Promise<Anvil> {
  const chainId = options.chainId ?? 31337;
  const { file, viaWrapper } = anvilCommand();
  const args = [
    '--host',
    HOST,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    ...(options.args ?? []),
  ];
  const child = spawn(file, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    // A process group lets stop() reach the native child of the wrapper too.
    detached: viaWrapper,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // 'exit' does not fire when the spawn itself fails; 'error' does.
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const rpcUrl = `http://${HOST}:${port}`;

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return exited;
    stopped = true;
    await kill(child, viaWrapper, exited);
  };

  try {
    const why = (): string => (spawnError === undefined ? stderr : `${spawnError.message}\n${stderr}`);
    await waitForChainId(rpcUrl, chainId, child, why, options.startTimeoutMs ?? 20_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { rpcUrl, port, chainId, stop };
}

async function waitForChainId(
  rpcUrl: string,
  chainId: number,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      throw new AnvilExitedError(
        `anvil exited (${child.exitCode ?? child.signalCode}) before answering:\n${stderr()}`,
      );
    }
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        signal: AbortSignal.timeout(1000),
      });
      const json = (await res.json()) as { result?: string };
      if (json.result !== undefined) {
        if (Number(json.result) !== chainId) {
          throw new Error(`anvil at ${rpcUrl} reports chain id ${json.result}, expected ${chainId}`);
        }
        return;
      }
    } catch (err) {
      if (err instanceof Error && err.message.includes('reports chain id')) throw err;
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`anvil at ${rpcUrl} did not answer eth_chainId within ${timeoutMs} ms:\n${stderr()}`);
}

async function kill(child: ChildProcess, group: boolean, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (group && child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    signal('SIGKILL');
    await exited;
  }
}
