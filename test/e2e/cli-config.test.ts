// The CLI as an operator meets it: bad config files and bad arguments each give ONE readable line on
// stderr (naming the file, the field and the fix) and a non-zero exit, with no stack trace unless
// --verbose; a good config passes `config check` against a live chain; every command's --help has an
// example; `xmargin devnet up` writes the node configs the examples name; bin/xmargin runs the CLI.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TxSender } from '../../relayer/chain/tx.ts';
import { buildProgram } from '../../relayer/cli/main.ts';
import { allCommands, commandPath } from '../../relayer/cli/usage.ts';
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

/** The same, without blocking: independent runs go in parallel. */
function cliAsync(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      NODE_BIN,
      [path.join(ROOT, 'relayer/cli/main.ts'), ...args],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
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

  it('--help of every command and subcommand shows an xmargin example, and --help exits 0', async () => {
    // Rendered in process (each CLI process takes seconds to start here): the help text commander
    // prints, with the example sections the commands add after it.
    const commands = allCommands(buildProgram());
    expect(commands.length).toBeGreaterThanOrEqual(19);
    const failures: string[] = [];
    for (const command of commands) {
      let out = '';
      command.configureOutput({ writeOut: (text) => (out += text) });
      command.outputHelp();
      const name = commandPath(command);
      if (!/^Examples?\b/m.test(out)) failures.push(`${name}: no Example section`);
      if (!/^ {2}xmargin /m.test(out)) failures.push(`${name}: no example line starting with xmargin`);
    }
    expect(failures).toEqual([]);
    // And as a process: a top-level and a nested command's --help exit 0 with that text on stdout.
    const runs = await Promise.all([cliAsync('--help'), cliAsync('devnet', 'up', '--help')]);
    for (const r of runs) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ {2}xmargin /m);
    }
  }, 60_000);

  it('usage errors are one line with the help hint and exit 1', () => {
    const cases: [string[], RegExp][] = [
      [['bogus'], /^error: unknown command 'bogus' \(run xmargin --help for usage\)$/],
      [
        ['helth'],
        /^error: unknown command 'helth' \(Did you mean health\?\) \(run xmargin --help for usage\)$/,
      ],
      [['health', '--bogus'], /^error: unknown option '--bogus' \(run xmargin health --help for usage\)$/],
      [
        ['node'],
        /^error: required option '-c, --config <file>' not specified \(run xmargin node --help for usage\)$/,
      ],
      [
        ['keys', 'show'],
        /^error: required option '-d, --dir <dir>' not specified \(run xmargin keys show --help/,
      ],
      [['devnet', 'up', '--quorum', '5'], /cannot exceed --attestors \(3\) \(run xmargin devnet up --help/],
    ];
    for (const [args, expected] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(expectOneLine(r.stderr), args.join(' ')).toMatch(expected);
      expect(r.stdout, args.join(' ')).toBe('');
    }
  });

  it('bin/xmargin runs the CLI with the project node, from any directory', () => {
    const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    const r = spawnSync(path.join(ROOT, 'bin', 'xmargin'), ['--version'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    const bad = spawnSync(path.join(ROOT, 'bin', 'xmargin'), ['bogus'], { cwd: dir, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(expectOneLine(bad.stderr)).toContain("unknown command 'bogus'");
  });

  it('keys create, then keys show --json is one object without the private key unless --reveal', () => {
    const keys = path.join(dir, 'keys');
    const created = cli('keys', 'create', '--dir', keys);
    expect(created.code).toBe(0);
    expect(statSync(path.join(keys, 'evm.key')).mode & 0o777).toBe(0o600);
    const shown = cli('keys', 'show', '--dir', keys, '--json');
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout.trim().split('\n')).toHaveLength(1);
    const doc = JSON.parse(shown.stdout) as Record<string, string>;
    expect(doc.signer).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(doc.peerId).toMatch(/^12D3KooW/);
    expect(doc.evmKeyFile).toBe(path.join(keys, 'evm.key'));
    expect(doc).not.toHaveProperty('privateKey');
    expect(created.stdout).toContain(doc.signer as string);
    const revealed = JSON.parse(cli('keys', 'show', '--dir', keys, '--json', '--reveal').stdout) as {
      privateKey: string;
    };
    expect(revealed.privateKey).toBe(readFileSync(path.join(keys, 'evm.key'), 'utf8').trim());
    const missing = cli('keys', 'show', '--dir', path.join(dir, 'no-keys'));
    expect(missing.code).toBe(1);
    expect(expectOneLine(missing.stderr)).toContain(path.join(dir, 'no-keys', 'evm.key'));
  });

  it('devnet up writes node configs next to its manifest that config check accepts', () => {
    const manifestFile = path.join(dir, 'devnet', 'manifest.json');
    const up = cli(
      'devnet',
      'up',
      '--chains',
      '2',
      '--automine',
      '--exit-after-boot',
      '--manifest',
      manifestFile,
    );
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(/node configs: .*node-1\.json, .*node-2\.json, .*node-3\.json/);
    const node1 = JSON.parse(readFileSync(path.join(dir, 'devnet', 'node-1.json'), 'utf8')) as NodeConfig;
    expect(node1.networksFile).toBe('manifest.json');
    expect(node1.bootstrap).toHaveLength(2);
    expect(statSync(path.join(dir, 'devnet', 'node-1', 'evm.key')).mode & 0o777).toBe(0o600);
    const check = cli('config', 'check', path.join(dir, 'devnet', 'node-1.json'), '--offline', '--json');
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      ok: true,
      kind: 'node config',
      chains: [{ name: 'devnet-a' }, { name: 'devnet-b' }],
      rpcChecked: false,
    });
  }, 120_000);

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
    const json = cli('config', 'check', config, '--json');
    expect(json.code).toBe(0);
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      kind: 'node config',
      file: config,
      chains: [{ name: 'devnet-a', chainId: 40101, eid: 40101 }],
      rpcChecked: true,
    });
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

  it('bad arguments exit non-zero with a usage hint, in one line', () => {
    const r = cli('node', '--config', 'x.json', '--poll-interval', 'soon');
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toMatch(
      /^error: option '--poll-interval <ms>' argument 'soon' is invalid\. .* \(run xmargin node --help for usage\)$/,
    );
  });
});
