// A real node's status API: a 2-chain devnet (1 s blocks, DVN quorum 1) and one in-process node
// (attestor + executor) on it. Its /status shows its identity and both chains' heads; a deposit on
// chain A to engine B is verified and delivered by the node, and the packet appears in /status and in
// the /metrics histograms; the dashboard is served; stopping the node closes the port.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Contract, JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../relayer/api/types.ts';
import { ensureArtifacts, readArtifact } from '../../relayer/chain/artifacts.ts';
import type { ChainConfig, NodeConfig } from '../../relayer/config/types.ts';
import { type Devnet, startDevnet } from '../../relayer/devnet/index.ts';
import { type RunningNode, startNode } from '../../relayer/node/node.ts';

let devnet: Devnet | undefined;
let node: RunningNode | undefined;
let provider: JsonRpcProvider | undefined;
let workDir = '';

async function status(): Promise<NodeStatus> {
  return (await (await fetch(`${node?.apiUrl}/status`)).json()) as NodeStatus;
}

function metricValue(text: string, line: RegExp): number | undefined {
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? undefined : Number(m.split(' ').at(-1));
}

describe('node status API on a devnet', () => {
  let chainA: ChainConfig;
  let chainB: ChainConfig;

  beforeAll(async () => {
    await ensureArtifacts(['CollateralVault', 'MarginEngine', 'PerpMarket', 'MockERC20']);
    workDir = mkdtempSync(path.join(tmpdir(), 'xmargin-node-api-'));
    const manifestFile = path.join(workDir, 'manifest.json');
    devnet = await startDevnet({
      chains: 2,
      blockTime: 1,
      quorum: 1,
      attestors: 1,
      manifestPath: manifestFile,
    });
    [chainA, chainB] = devnet.manifest.chains as [ChainConfig, ChainConfig];
    const attestor = devnet.manifest.accounts.find((a) => a.role === 'attestor');
    writeFileSync(path.join(workDir, 'evm.key'), `${attestor?.privateKey}\n`, { mode: 0o600 });
    const config: NodeConfig = {
      dataDir: 'data',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      evmKeyFile: 'evm.key',
      p2pKeyFile: 'p2p.key',
      roles: ['attestor', 'executor'],
      chains: devnet.manifest.chains.map((c) => c.name),
      networksFile: manifestFile,
      apiPort: 0,
    };
    node = await startNode({
      config,
      baseDir: workDir,
      log: pino({ level: 'silent' }),
      pollIntervalMs: 250,
      heartbeatMs: 1000,
      gossipHeartbeatMs: 200,
    });
  }, 240_000);

  afterAll(async () => {
    await node?.stop();
    provider?.destroy();
    await devnet?.stop();
    if (workDir !== '') rmSync(workDir, { recursive: true, force: true });
  });

  it('serves its identity and both chains on 127.0.0.1', async () => {
    expect(node?.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect
      .poll(async () => (await status()).chains.every((c) => c.head !== null && c.rpcOk), {
        timeout: 15_000,
      })
      .toBe(true);
    const s = await status();
    expect(s.node).toMatchObject({ version: '0.1.0', peerId: node?.peerId, roles: ['attestor', 'executor'] });
    expect(s.node.signer.toLowerCase()).toBe(node?.signer.toLowerCase());
    expect(s.chains.map((c) => [c.name, c.eid])).toEqual([
      [chainA.name, chainA.eid],
      [chainB.name, chainB.eid],
    ]);
    expect(s.peers).toEqual([]);
    expect(s.accounts).toEqual([]); // the margin view runs on every node; no account has collateral yet
  });

  it('shows a deposit packet verified and delivered, in /status and in /metrics', async () => {
    const trader = devnet?.manifest.accounts.find((a) => a.role === 'trader');
    provider = new JsonRpcProvider(chainA.rpcUrls[0], chainA.chainId, {
      staticNetwork: true,
      pollingInterval: 250,
    });
    const wallet = new NonceManager(new Wallet(trader?.privateKey as string, provider));
    const weth = chainA.tokens.find((t) => t.symbol === 'WETH')?.address as string;
    const token = new Contract(weth, readArtifact('MockERC20').abi, wallet);
    const vault = new Contract(chainA.xmargin.vault, readArtifact('CollateralVault').abi, wallet);
    await (await token.getFunction('approve')(chainA.xmargin.vault, 2n ** 256n - 1n)).wait();
    const amount = 10n ** 18n;
    const fee = (await vault.getFunction('quoteDeposit')(weth, amount, 0n, chainB.eid, '0x')) as [
      bigint,
      bigint,
    ];
    await (await vault.getFunction('deposit')(weth, amount, 0n, chainB.eid, '0x', { value: fee[0] })).wait();

    await expect
      .poll(async () => (await status()).packets.delivered, { timeout: 45_000, interval: 250 })
      .toBe(1);
    const s = await status();
    expect(s.packets.verified).toBe(1);
    expect(s.packets.inFlight).toBe(0);
    expect(s.packets.failed).toEqual([]);

    const text = await (await fetch(`${node?.apiUrl}/metrics`)).text();
    expect(metricValue(text, /^xmargin_packet_verification_seconds_count /)).toBe(1);
    expect(metricValue(text, /^xmargin_packet_delivery_seconds_count /)).toBe(1);
    expect(metricValue(text, /^xmargin_packet_delivery_seconds_sum /)).toBeGreaterThan(0);
    expect(metricValue(text, new RegExp(`^xmargin_chain_head\\{chain="${chainB.name}"\\} `))).toBeGreaterThan(
      0,
    );
    expect(metricValue(text, /^xmargin_store_size_bytes /)).toBeGreaterThan(0);
    expect(metricValue(text, /^xmargin_peers /)).toBe(0);
    // The node signs its DVN verification and its heartbeats on gossip.
    expect(
      metricValue(text, /^xmargin_gossip_messages_total\{topic="heartbeat",direction="out"\} /),
    ).toBeGreaterThan(0);
    expect(
      metricValue(text, /^xmargin_gossip_messages_total\{topic="dvnSignature",direction="out"\} /),
    ).toBeGreaterThan(0);
  });

  it('serves the dashboard, and closes the port when the node stops', async () => {
    const url = node?.apiUrl as string;
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('xmargin node');
    await node?.stop();
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
