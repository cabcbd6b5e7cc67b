// What the devnet e2e tests share: polling until something holds, a pool of JSON-RPC providers
// that one afterAll destroys, and that afterAll (stopNetwork).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonRpcProvider } from 'ethers';
import type { ChainConfig } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';

/**
 * The devnet the node tests share: 3 chains, 1 s blocks, `attestors` attestor keys with a DVN quorum
 * of 2, its manifest written into a fresh work dir (`xmargin-<name>-…`, removed by stopNetwork).
 */
export async function startNodeDevnet(
  name: string,
  attestors: number,
): Promise<{ devnet: Devnet; dir: string; manifestFile: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), `xmargin-${name}-`));
  const manifestFile = path.join(dir, 'manifest.json');
  const devnet = await startDevnet({
    chains: 3,
    blockTime: 1,
    attestors,
    quorum: 2,
    manifestPath: manifestFile,
  });
  return { devnet, dir, manifestFile };
}

/** Polls `check` every 250 ms until it returns a value (a throw counts as "not yet"); that value. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * What a devnet e2e test's afterAll does: stops the node processes, the providers and the chains,
 * removes the work dir (unless XMARGIN_KEEP_TMP is set) and prints the figures the test measured.
 */
export async function stopNetwork(parts: {
  cluster: { stopAll(): Promise<void> } | undefined;
  pool: ProviderPool;
  devnet: { stop(): Promise<void> } | undefined;
  dir: string;
  figures: string[];
}): Promise<void> {
  await parts.cluster?.stopAll();
  parts.pool.destroyAll();
  await parts.devnet?.stop();
  if (parts.dir !== '' && process.env.XMARGIN_KEEP_TMP === undefined)
    rmSync(parts.dir, { recursive: true, force: true });
  if (parts.figures.length > 0) console.log(parts.figures.join('\n'));
}

export interface ProviderPool {
  /** A provider for `chain` (receipts polled every 250 ms), kept for destroyAll. */
  provider(chain: ChainConfig): JsonRpcProvider;
  destroyAll(): void;
}

export function providerPool(): ProviderPool {
  const providers: JsonRpcProvider[] = [];
  return {
    provider(chain) {
      const p = new JsonRpcProvider(chain.rpcUrls[0], chain.chainId, {
        staticNetwork: true,
        pollingInterval: 250,
      });
      providers.push(p);
      return p;
    },
    destroyAll() {
      for (const p of providers.splice(0)) p.destroy();
    },
  };
}
