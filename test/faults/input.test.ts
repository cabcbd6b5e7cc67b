// Fault scenario: bad input everywhere, on a 2-chain devnet (A: collateral, B: engine; automine).
//   bad-input  malformed config files and CLI arguments for `xmargin node`, `config check`, `wire` and
//              the trader commands, each run as a real process: a non-zero exit and one readable line
//              on stderr (usage errors included: their help hint is on the same line);
//              then contract calls with zero amounts, unknown assets and wrong chains: each refused
//              with a custom error of the contracts' ABIs (an unknown destination by the OApp's
//              NoPeer; an unknown asset or source chain on the engine as InsufficientCredit, since
//              nothing of it was ever credited). Balances, locked totals and credits read
//              before and after are identical, no node data directory was created, and the
//              trader's nonce did not move (nothing was sent).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, NonceManager, Wallet, ZeroAddress } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import { decodeRevert, revertData } from '../../relayer/chain/revert.ts';
import type { ChainConfig, DevnetManifest } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { keyOf, result, tokenOf } from './harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
const UNKNOWN_TOKEN = '0x000000000000000000000000000000000000dEaD';

let devnet: Devnet | undefined;
let dir = '';
let manifestFile = '';
let manifest: DevnetManifest;
let A: ChainConfig;
let B: ChainConfig;
const providers: JsonRpcProvider[] = [];

function x(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE_BIN, [path.join(ROOT, 'relayer/cli/main.ts'), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

/** The non-empty lines of stderr. */
const errorLines = (stderr: string): string[] =>
  stderr
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');

function file(name: string, content: string | object): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`);
  return p;
}

describe('faults: bad input everywhere', () => {
  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    dir = mkdtempSync(path.join(tmpdir(), 'xmargin-faults-input-'));
    manifestFile = path.join(dir, 'manifest.json');
    devnet = await startDevnet({ chains: 2, blockTime: 'automine', manifestPath: manifestFile });
    manifest = devnet.manifest;
    [A, B] = manifest.chains as [ChainConfig, ChainConfig];
  }, 180_000);

  afterAll(async () => {
    for (const p of providers) p.destroy();
    await devnet?.stop();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('bad-input: one clear line or a custom error each, and no state change', async () => {
    const rpc = (c: ChainConfig) => {
      const p = new JsonRpcProvider(c.rpcUrls[0], c.chainId, { staticNetwork: true });
      providers.push(p);
      return p;
    };
    const [pa, pb] = [rpc(A), rpc(B)];
    const trader = keyOf(manifest, 'trader');
    const wallet = new NonceManager(new Wallet(trader.privateKey, pa));
    const erc20 = readArtifact('MockERC20').abi;
    const wethA = new Contract(tokenOf(A, 'WETH'), erc20, wallet);
    const vaultA = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, wallet);
    const engineB = new Contract(
      B.xmargin.engine as string,
      readArtifact('MarginEngine').abi,
      new NonceManager(new Wallet(trader.privateKey, pb)),
    );
    // The trader holds WETH and has approved the vault: a refusal is about the input, not allowance.
    await (await wethA.getFunction('mint')(trader.address, 10n * 10n ** 18n)).wait();
    await (await wethA.getFunction('approve')(A.xmargin.vault, 2n ** 256n - 1n)).wait();

    const snapshot = async () =>
      JSON.stringify(
        await Promise.all([
          wethA.getFunction('balanceOf')(trader.address),
          wethA.getFunction('balanceOf')(A.xmargin.vault),
          vaultA.getFunction('totalLocked')(tokenOf(A, 'WETH')),
          vaultA.getFunction('locked')(trader.address, 0n, tokenOf(A, 'WETH')),
          engineB.getFunction('creditOf')(trader.address, 0n, A.eid, tokenOf(A, 'WETH')),
          pa.getBalance(trader.address),
          pb.getBalance(trader.address),
          pa.getTransactionCount(trader.address),
          pb.getTransactionCount(trader.address),
        ]),
        (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
      );
    const before = await snapshot();

    // ---- files and flags
    const nodeDir = path.join(dir, 'node');
    const goodNode = {
      dataDir: path.join(nodeDir, 'data'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      evmKeyFile: file('evm.key', `${trader.privateKey}\n`),
      p2pKeyFile: path.join(nodeDir, 'p2p.key'),
      roles: ['attestor'],
      chains: [A.name, B.name],
      networksFile: manifestFile,
      apiPort: 0,
    };
    const good = file('node.json', goodNode);
    const notJson = file('broken.json', '{"dataDir": "data",');
    const wrongTypes = file('types.json', { ...goodNode, apiPort: 'eight thousand', roles: ['oracle'] });
    const unknownChain = file('chain.json', { ...goodNode, chains: ['devnet-z'] });
    const rpcTypo = file('rpc.json', { ...goodNode, rpc: { chains: { 'devnet-z': { timeoutMs: 1000 } } } });
    const badRpc = file('rpc-bad.json', { ...goodNode, rpc: { attempts: 0 } });
    const networks = file('networks.json', {
      version: 1,
      chains: [
        { name: 'x', chainId: 1, eid: 30101, rpcUrls: ['ftp://nowhere'], confirmations: 0, isPublic: true },
      ],
      dvn: { signers: [], quorum: 0 },
    });
    const deposit = [
      'deposit',
      '--network',
      manifestFile,
      '--chain',
      A.name,
      '--token',
      'WETH',
      '--engine',
      B.name,
    ];
    // The trader's credit on engine B against WETH locked on A.
    const credit = ['--network', manifestFile, '--engine', B.name, '--from', A.name, '--token', 'WETH'];
    const cli: { name: string; args: string[] }[] = [
      { name: 'node: config file missing', args: ['node', '--config', path.join(dir, 'nope.json')] },
      { name: 'node: config not JSON', args: ['node', '--config', notJson] },
      { name: 'node: config fields of the wrong type', args: ['node', '--config', wrongTypes] },
      { name: 'node: a chain not in the networks file', args: ['node', '--config', unknownChain] },
      { name: 'node: rpc limits for a chain it does not serve', args: ['node', '--config', rpcTypo] },
      { name: 'node: rpc attempts 0 in the config', args: ['node', '--config', badRpc] },
      { name: 'node: --poll-interval abc', args: ['node', '--config', good, '--poll-interval', 'abc'] },
      { name: 'node: --rpc-timeout 5', args: ['node', '--config', good, '--rpc-timeout', '5'] },
      { name: 'node: --rpc-attempts 0', args: ['node', '--config', good, '--rpc-attempts', '0'] },
      { name: 'node: no --config', args: ['node'] },
      { name: 'config check: file missing', args: ['config', 'check', path.join(dir, 'nope.json')] },
      { name: 'config check: not JSON', args: ['config', 'check', notJson, '--offline'] },
      { name: 'config check: bad networks file', args: ['config', 'check', networks, '--offline'] },
      { name: 'config check: bad node config', args: ['config', 'check', wrongTypes, '--offline'] },
      {
        name: 'wire: networks file missing',
        args: ['wire', '--networks', path.join(dir, 'nope.json'), '--key', good],
      },
      { name: 'wire: networks file not JSON', args: ['wire', '--networks', notJson, '--key', good] },
      { name: 'wire: bad networks file', args: ['wire', '--networks', networks, '--key', good] },
      { name: 'deposit: amount 0', args: [...deposit, '--amount', '0'] },
      { name: 'deposit: amount -1', args: [...deposit, '--amount', '-1'] },
      { name: 'deposit: amount abc', args: [...deposit, '--amount', 'abc'] },
      {
        name: 'deposit: unknown token',
        args: [...deposit.slice(0, 6), 'NOPE', '--engine', B.name, '--amount', '1'],
      },
      {
        name: 'deposit: unknown chain',
        args: [
          'deposit',
          '--network',
          manifestFile,
          '--chain',
          'devnet-z',
          '--token',
          'WETH',
          '--engine',
          B.name,
          '--amount',
          '1',
        ],
      },
      {
        name: 'deposit: engine on a chain without one',
        args: [...deposit.slice(0, 8), A.name, '--amount', '1'],
      },
      { name: 'withdraw: amount 0', args: ['withdraw', ...credit, '--amount', '0'] },
      { name: 'withdraw: more than the credit', args: ['withdraw', ...credit, '--amount', '5'] },
      { name: 'move: to the same engine', args: ['move', ...credit, '--amount', '1', '--to', B.name] },
      { name: 'open: size 0', args: ['open', '--network', manifestFile, '--engine', B.name, '--size', '0'] },
      {
        name: 'open: unknown engine',
        args: ['open', '--network', manifestFile, '--engine', 'devnet-z', '--size', '1'],
      },
    ];
    const cliResults: { name: string; code: number | null; lines: string[] }[] = [];
    // Two at a time: each is a Node process on the shared cores.
    for (let i = 0; i < cli.length; i += 2) {
      const batch = cli.slice(i, i + 2);
      const out = await Promise.all(batch.map((c) => x(c.args)));
      batch.forEach((c, k) => {
        const r = out[k] as { code: number | null; stderr: string };
        cliResults.push({ name: c.name, code: r.code, lines: errorLines(r.stderr) });
      });
    }
    for (const r of cliResults) console.log(`  ${r.name}: ${r.lines.join(' | ')}`);
    const cliBad = cliResults.filter((r) => r.code === 0 || r.code === null || r.lines.length !== 1);
    for (const r of cliBad)
      console.log(`  bad-input: ${r.name}: exit ${r.code}, stderr ${JSON.stringify(r.lines)}`);

    // ---- contract calls: each refused with one of the contracts' custom errors
    const weth = tokenOf(A, 'WETH');
    const one = 10n ** 18n;
    const calls: { name: string; expect: string; send: () => Promise<unknown> }[] = [
      {
        name: 'vault.deposit of 0',
        expect: 'ZeroAmount',
        send: () => vaultA.getFunction('deposit').send(weth, 0n, 0n, B.eid, '0x', { value: 10n ** 16n }),
      },
      {
        name: 'vault.deposit of an unknown asset',
        expect: 'AssetNotEnabled',
        send: () =>
          vaultA.getFunction('deposit').send(UNKNOWN_TOKEN, one, 0n, B.eid, '0x', { value: 10n ** 16n }),
      },
      {
        name: 'vault.deposit for an unknown chain',
        expect: 'NoPeer',
        send: () => vaultA.getFunction('deposit').send(weth, one, 0n, 40999, '0x', { value: 10n ** 16n }),
      },
      {
        name: 'vault.deposit for a chain without an engine',
        expect: 'NoEngineAt',
        send: () => vaultA.getFunction('deposit').send(weth, one, 0n, A.eid, '0x', { value: 10n ** 16n }),
      },
      {
        name: 'engine.withdraw of 0',
        expect: 'ZeroAmount',
        send: () => engineB.getFunction('withdraw').send(0n, A.eid, weth, 0n, trader.address, '0x'),
      },
      {
        name: 'engine.withdraw of an unknown asset',
        expect: 'InsufficientCredit',
        send: () => engineB.getFunction('withdraw').send(0n, A.eid, UNKNOWN_TOKEN, one, trader.address, '0x'),
      },
      {
        name: 'engine.withdraw from an unknown chain',
        expect: 'InsufficientCredit',
        send: () => engineB.getFunction('withdraw').send(0n, 40999, weth, one, trader.address, '0x'),
      },
      {
        name: 'engine.withdraw to the zero address',
        expect: 'ZeroAddress',
        send: () => engineB.getFunction('withdraw').send(0n, A.eid, weth, one, ZeroAddress, '0x'),
      },
      {
        name: 'engine.move to the same engine',
        expect: 'SameEngine',
        send: () => engineB.getFunction('move').send(0n, A.eid, weth, one, B.eid, '0x'),
      },
      {
        name: 'engine.move of 0',
        expect: 'ZeroAmount',
        send: () => engineB.getFunction('move').send(0n, A.eid, weth, 0n, 40103, '0x'),
      },
    ];
    const callResults: { name: string; expect: string; got: string }[] = [];
    for (const c of calls) {
      const got = await c.send().then(
        () => 'SENT',
        (err: unknown) => {
          const data = revertData(err);
          return data === undefined
            ? `no revert data (${String(err).slice(0, 80)})`
            : (decodeRevert(data)?.name ?? data.slice(0, 10));
        },
      );
      callResults.push({ name: c.name, expect: c.expect, got });
    }
    const callBad = callResults.filter((r) => r.got !== r.expect);
    for (const r of callBad) console.log(`  bad-input: ${r.name}: expected ${r.expect}, got ${r.got}`);

    const after = await snapshot();
    const noNodeDir = !existsSync(nodeDir);
    const ok = cliBad.length === 0 && callBad.length === 0 && after === before && noNodeDir;
    result(
      'bad-input',
      ok,
      `${cliResults.length + callResults.length} cases: ${cliResults.length - cliBad.length}/${cliResults.length} CLI cases (node ${cli.filter((c) => c.args[0] === 'node').length}, config check ${cli.filter((c) => c.args[0] === 'config').length}, wire ${cli.filter((c) => c.args[0] === 'wire').length}, trader ${cli.filter((c) => !['node', 'config', 'wire'].includes(c.args[0] as string)).length}) exited non-zero with one line, ${callResults.length - callBad.length}/${callResults.length} contract calls refused with the expected custom error; balances, locked totals, credit and nonces ${after === before ? 'unchanged' : 'CHANGED'}; no node data dir created`,
    );
    expect(cliBad).toEqual([]);
    expect(callBad).toEqual([]);
    expect(after).toBe(before);
    expect(noNodeDir).toBe(true);
  }, 150_000);
});
