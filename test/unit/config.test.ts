// Config loading: a bad file gets ONE line naming the file, the field path and the fix; LayerZero
// addresses of public networks come from the sdk's deployments, never typed by hand.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  loadNetworks,
  loadNodeConfig,
  lzDeploymentAddress,
  parseNetworks,
} from '../../relayer/config/load.ts';
import type { ChainConfig } from '../../relayer/config/types.ts';
import { WireError, wire } from '../../relayer/deploy/wire.ts';

const FILE = 'config/networks.json';
const A1 = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const SIGNER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

const lz = {
  endpointV2: A1,
  sendUln302: A1,
  receiveUln302: A1,
  dvn: A1,
  executor: A1,
  priceFeed: A1,
  dvnFeeLib: A1,
  executorFeeLib: A1,
};

function localChain(i: number): Record<string, unknown> {
  return {
    name: `devnet-${'abc'[i]}`,
    chainId: 40_101 + i,
    eid: 40_101 + i,
    rpcUrls: ['http://127.0.0.1:8545'],
    confirmations: 1,
    isPublic: false,
    layerZero: { ...lz },
    xmargin: { vault: A1 },
  };
}

function networks(mutate: (f: { chains: Record<string, unknown>[] } & Record<string, unknown>) => void) {
  const file = { version: 1, chains: [localChain(0), localChain(1)], dvn: { signers: [SIGNER], quorum: 1 } };
  mutate(file);
  return file;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const m = (err as Error).message;
    expect(m).not.toContain('\n');
    return m;
  }
  throw new Error('expected a ConfigError');
}

describe('networks file', () => {
  it('accepts a valid file', () => {
    const parsed = parseNetworks(
      networks(() => {}),
      FILE,
    );
    expect(parsed.chains.map((c) => c.eid)).toEqual([40_101, 40_102]);
    expect(parsed.chains[0]?.xmargin?.vault).toBe(A1);
  });

  it('names a missing field and how to add it', () => {
    const m = message(() =>
      parseNetworks(
        networks((f) => delete f.chains[1]?.confirmations),
        FILE,
      ),
    );
    expect(m).toBe('config/networks.json: chains[1].confirmations: missing — add "confirmations": 1');
  });

  it('refuses an eid LayerZero would treat as v1', () => {
    const m = message(() =>
      parseNetworks(
        networks((f) => {
          const c = f.chains[1];
          if (c !== undefined) c.eid = 102;
        }),
        FILE,
      ),
    );
    expect(m).toBe(
      'config/networks.json: chains[1].eid: expected an integer >= 30000 on local chains (LayerZero treats lower eids as v1) — set "eid" to e.g. 40102',
    );
  });

  it('names a wrong type, what it got and an example', () => {
    const m = message(() =>
      parseNetworks(
        networks((f) => {
          const c = f.chains[0];
          if (c !== undefined) c.chainId = '40101';
        }),
        FILE,
      ),
    );
    expect(m).toBe(
      'config/networks.json: chains[0].chainId: expected a number, got the string "40101" — set "chainId" to e.g. 31337',
    );
  });

  it('names an unknown LayerZero network and suggests the closest one', () => {
    const m = message(() =>
      parseNetworks(
        networks((f) => {
          const c = f.chains[0];
          if (c === undefined) return;
          c.isPublic = true;
          c.eid = 30_110;
          c.lzDeployment = 'arbitrum-mainet';
          c.layerZero = { dvn: A1 };
        }),
        FILE,
      ),
    );
    expect(m).toBe(
      'config/networks.json: chains[0].lzDeployment: unknown LayerZero network "arbitrum-mainet" — use a folder name of node_modules/@layerzerolabs/lz-evm-sdk-v2/deployments, e.g. "arbitrum-mainnet"',
    );
  });

  it('resolves public LayerZero addresses from the sdk deployments', () => {
    expect(lzDeploymentAddress('ethereum-mainnet', 'EndpointV2')).toBe(
      '0x1a44076050125825900e736c501f859c50fE728c',
    );
    const parsed = parseNetworks(
      networks((f) => {
        const c = f.chains[0];
        if (c === undefined) return;
        c.name = 'ethereum-mainnet';
        c.isPublic = true;
        c.eid = 30_101;
        c.lzDeployment = 'ethereum-mainnet';
        c.layerZero = { dvn: A1, extraDvns: ['DVN'] };
      }),
      FILE,
    );
    const lzA = parsed.chains[0]?.layerZero;
    expect(lzA?.endpointV2).toBe('0x1a44076050125825900e736c501f859c50fE728c');
    expect(lzA?.executor).toBe('0x173272739Bd7Aa6e4e214714048a9fE699453059');
    expect(lzA?.extraDvns).toEqual(['0x589dEDbD617e0CBcB916A9223F4d1300c294236b']);
  });

  it('reports unreadable and malformed files on one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-config-'));
    try {
      const bad = path.join(dir, 'networks.json');
      writeFileSync(bad, '{ "version": 1, ');
      expect(message(() => loadNetworks(bad))).toMatch(
        /networks\.json: not valid JSON \(.*\) — fix the syntax$/,
      );
      expect(message(() => loadNodeConfig(path.join(dir, 'missing.json')))).toMatch(
        /missing\.json: cannot read the file \(ENOENT\) — check the path or create it$/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('node config', () => {
  it('names a wrong role', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-node-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: '.xmargin/n1',
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        evmKeyFile: 'k',
        p2pKeyFile: 'p',
        roles: ['attestor', 'miner'],
        chains: ['devnet-a'],
        networksFile: 'config/devnet/manifest.json',
        apiPort: 0,
      }),
    );
    expect(message(() => loadNodeConfig(file))).toMatch(
      /node\.json: roles\[1\]: expected one of "attestor", "executor", "liquidator", "rebalancer", "watcher", got the string "miner" — set "roles" to one of those$/,
    );
  });
});

describe('node config: apiHost', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-node-host-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (extra: Record<string, unknown>): string => {
    const file = path.join(dir, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: 'data',
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        evmKeyFile: 'k',
        p2pKeyFile: 'p',
        roles: ['watcher'],
        chains: ['devnet-a'],
        networksFile: 'manifest.json',
        apiPort: 0,
        ...extra,
      }),
    );
    return file;
  };

  it('is optional (the server binds 127.0.0.1) and takes IPv4, IPv6 or localhost', () => {
    expect(loadNodeConfig(write({})).apiHost).toBeUndefined();
    expect(loadNodeConfig(write({ apiHost: '0.0.0.0' })).apiHost).toBe('0.0.0.0');
    expect(loadNodeConfig(write({ apiHost: '::1' })).apiHost).toBe('::1');
    expect(loadNodeConfig(write({ apiHost: 'localhost' })).apiHost).toBe('localhost');
  });

  it('refuses what is not an address, naming the field and an example', () => {
    expect(message(() => loadNodeConfig(write({ apiHost: '127.0.0.300' })))).toMatch(
      /node\.json: apiHost: expected an IP address to bind the status API to — e\.g\. "127\.0\.0\.1"/,
    );
    expect(message(() => loadNodeConfig(write({ apiHost: 7400 })))).toMatch(/node\.json: apiHost: /);
  });
});

describe('wire', () => {
  it('refuses a public pathway with a single required DVN', async () => {
    const parsed = parseNetworks(
      networks((f) => {
        for (const c of f.chains) c.isPublic = true;
      }),
      FILE,
    );
    await expect(wire(parsed.chains as ChainConfig[], {}, { dryRun: true })).rejects.toThrow(WireError);
    await expect(wire(parsed.chains as ChainConfig[], {}, { dryRun: true })).rejects.toThrow(
      /refusing pathway devnet-a -> devnet-b: devnet-a requires 1 DVN\(s\)/,
    );
  });
});
