// The CLI as an operator meets it: bad config files and bad arguments each give ONE readable line on
// stderr (naming the file, the field and the fix) and a non-zero exit, with no stack trace unless
// --verbose; a good config passes `config check` against a live chain.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxSender } from '../../relayer/chain/tx.ts';
import type { Address, ChainConfig, DevnetManifest, NodeConfig } from '../../relayer/config/types.ts';
import { type Anvil, freePort, startAnvil } from '../support/anvil.ts';
import { readLzArtifact } from '../support/artifacts.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
const ADDR = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

let dir = '';
let anvil: Anvil | undefined;
/** A real EndpointV2 on the anvil, with eid 40101. */
let endpoint: Address = ADDR(1) as Address;
// anvil's account 0.
const DEPLOYER_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(NODE_BIN, [path.join(ROOT, 'relayer/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function chain(
  name: string,
  chainId: number,
  eid: number,
  rpcUrl: string,
  endpointV2 = endpoint,
): ChainConfig {
  return {
    name,
    chainId,
    eid,
    rpcUrls: [rpcUrl],
    confirmations: 1,
    isPublic: false,
    layerZero: {
      endpointV2,
      sendUln302: ADDR(2) as `0x${string}`,
      receiveUln302: ADDR(3) as `0x${string}`,
      dvn: ADDR(4) as `0x${string}`,
      executor: ADDR(5) as `0x${string}`,
      priceFeed: ADDR(6) as `0x${string}`,
      dvnFeeLib: ADDR(7) as `0x${string}`,
      executorFeeLib: ADDR(8) as `0x${string}`,
    },
    xmargin: { vault: ADDR(9) as `0x${string}` },
    tokens: [],
  };
}

function writeJson(name: string, value: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
  return file;
}

function manifest(chains: ChainConfig[]): DevnetManifest {
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    chains,
    dvn: { signers: [ADDR(10) as `0x${string}`], quorum: 1 },
    accounts: [],
  };
}

function nodeConfig(networksFile: string, chains: string[]): NodeConfig {
  return {
    dataDir: 'data',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    evmKeyFile: 'evm.key',
    p2pKeyFile: 'p2p.key',
    roles: ['attestor'],
    chains,
    networksFile,
    apiPort: 0,
  };
}

/** Exactly one line on stderr, no stack trace. */
function expectOneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

describe('CLI: configuration errors and checks', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'xmargin-cli-'));
    anvil = await startAnvil({ chainId: 40101 });
    const provider = new JsonRpcProvider(anvil.rpcUrl, 40101, { staticNetwork: true, pollingInterval: 100 });
    try {
      const wallet = new Wallet(DEPLOYER_KEY, provider);
      const tx = new TxSender(wallet, { label: 'test' });
      endpoint = await tx.deploy('EndpointV2', readLzArtifact('EndpointV2'), [40101, wallet.address]);
      await tx.flush();
    } finally {
      provider.destroy();
    }
    writeFileSync(path.join(dir, 'evm.key'), `0x${'11'.repeat(32)}\n`, { mode: 0o600 });
  }, 60_000);

  afterAll(async () => {
    await anvil?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('--help exits 0 and shows an example', () => {
    const r = cli('node', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example');
  });

  it('a good node config passes `config check` against the live chain', () => {
    const networks = writeJson(
      'good-manifest.json',
      manifest([chain('devnet-a', 40101, 40101, anvil?.rpcUrl as string)]),
    );
    const config = writeJson('good-node.json', nodeConfig(networks, ['devnet-a']));
    const r = cli('config', 'check', config);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^ok: node config .*devnet-a.*every RPC serves its chain id, every endpoint has its eid/,
    );
  });

  it('a missing field names the file, the field and the fix', () => {
    const bad = nodeConfig('x.json', ['devnet-a']) as Partial<NodeConfig>;
    delete bad.roles;
    const file = writeJson('missing-roles.json', { ...bad, listen: ['/ip4/127.0.0.1/tcp/0'] });
    // Without "roles" the file is checked as a networks file; be explicit through the node command.
    const r = cli('node', '--config', file);
    expect(r.code).not.toBe(0);
    const line = expectOneLine(r.stderr);
    expect(line).toContain('missing-roles.json');
    expect(line).toContain('roles');
  });

  it('a wrong eid names the chain field and the fix', () => {
    const file = writeJson('bad-eid.json', manifest([chain('devnet-a', 40101, 5, 'http://127.0.0.1:1')]));
    const r = cli('config', 'check', file, '--offline');
    expect(r.code).not.toBe(0);
    const line = expectOneLine(r.stderr);
    expect(line).toContain('bad-eid.json');
    expect(line).toMatch(/chains\[0\]\.eid/);
    expect(line).toMatch(/30000/);
  });

  it("an eid >= 30000 that is not the endpoint's is one clear line from `config check` and from `node`", () => {
    const networks = writeJson(
      'other-eid.json',
      manifest([chain('devnet-a', 40101, 40102, anvil?.rpcUrl as string)]),
    );
    const config = writeJson('other-eid-node.json', nodeConfig(networks, ['devnet-a']));
    const expected = new RegExp(
      `devnet-a: eid 40102 in the config, but its EndpointV2 at ${endpoint} has eid 40101 — set "eid": 40101 for devnet-a`,
    );
    const check = cli('config', 'check', config);
    expect(check.code).not.toBe(0);
    expect(expectOneLine(check.stderr)).toMatch(expected);

    const run = cli('node', '--config', config);
    expect(run.code).not.toBe(0);
    expect(expectOneLine(run.stderr)).toMatch(expected);
  }, 60_000);

  it('an unreachable RPC is one clear line from `config check` and from `node`', async () => {
    const port = await freePort(); // nothing listens there
    const networks = writeJson(
      'dead-rpc.json',
      manifest([chain('devnet-a', 40101, 40101, `http://127.0.0.1:${port}`)]),
    );
    const config = writeJson('dead-node.json', nodeConfig(networks, ['devnet-a']));
    const check = cli('config', 'check', config);
    expect(check.code).not.toBe(0);
    const line = expectOneLine(check.stderr);
    expect(line).toContain('devnet-a');
    expect(line).toContain(`127.0.0.1:${port}`);

    const run = cli('node', '--config', config);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('an RPC serving another chain id is refused', () => {
    const networks = writeJson(
      'wrong-chain.json',
      manifest([chain('devnet-a', 999, 40101, anvil?.rpcUrl as string)]),
    );
    const r = cli('config', 'check', writeJson('wrong-chain-node.json', nodeConfig(networks, ['devnet-a'])));
    expect(r.code).not.toBe(0);
    expect(expectOneLine(r.stderr)).toMatch(/serves chain id 40101, expected 999/);
  });

  it('a served chain that the networks file does not have is named', () => {
    const networks = writeJson(
      'one-chain.json',
      manifest([chain('devnet-a', 40101, 40101, anvil?.rpcUrl as string)]),
    );
    const r = cli('config', 'check', writeJson('unknown-chain.json', nodeConfig(networks, ['devnet-z'])));
    expect(r.code).not.toBe(0);
    expect(expectOneLine(r.stderr)).toMatch(/no chain named "devnet-z".*devnet-a/);
  });

  it('bad arguments exit non-zero with a usage hint', () => {
    const r = cli('node', '--config', 'x.json', '--poll-interval', 'soon');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/poll-interval/);
  });
});
