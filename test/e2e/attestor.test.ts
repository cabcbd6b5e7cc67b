// The attestor and executor roles end to end on the real LayerZero v2 contracts: two anvil chains,
// the stack deployed from the sdk artifacts (DVN with 3 signers, quorum 2), OmniCounter on both,
// and three attestor nodes over an in-memory gossip network. A counter increment sent on A must
// arrive on B through DVN.execute -> commitVerification -> lzReceive done by the nodes; with one
// node down it still does; with two down it waits, and completes when one comes back.

import { JsonRpcProvider, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT, TOPIC } from '../../attestor/abi.ts';
import { dvnHash, verifyCallData } from '../../attestor/dvn.ts';
import { encodeLzReceiveOption } from '../../attestor/options.ts';
import { decodePacket } from '../../attestor/packets.ts';
import { type AttestorService, createAttestorService } from '../../attestor/service.ts';
import { ChainRpc, RpcError } from '../../relayer/chain/rpc.ts';
import type { Address, ChainConfig, DvnConfig, Hex } from '../../relayer/config/types.ts';
import { memoryNodeStores, type NodeStores } from '../../relayer/node/stores.ts';
import { type Anvil, startAnvil } from '../support/anvil.ts';
import { MemoryGossipHub } from '../support/gossip.ts';
import { connectCounters, deployLzStack, type LzStack } from '../support/lzstack.ts';

const EID_A = 40101;
const EID_B = 40102;
const ATTESTOR_KEYS = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
] as const;
const wallets = ATTESTOR_KEYS.map((k) => new Wallet(k));
const dvnConfig: DvnConfig = { signers: wallets.map((w) => w.address as Address), quorum: 2 };
const OPTIONS = encodeLzReceiveOption(200_000n);
const VANILLA = 1;

let anvils: Anvil[] = [];
let providers: JsonRpcProvider[] = [];
let stackA: LzStack;
let stackB: LzStack;
let chains: ChainConfig[] = [];
let miner: NodeJS.Timeout | undefined;
const hub = new MemoryGossipHub();

/** One node's persistent state survives its restarts, as its level store would. */
interface Node {
  wallet: Wallet;
  stores: NodeStores;
  service?: AttestorService | undefined;
  stopGossip?: () => Promise<void>;
  logs: string[];
}
const nodes: Node[] = wallets.map((wallet) => ({
  wallet,
  stores: memoryNodeStores(),
  logs: [],
}));
const live = (): Address[] =>
  nodes.filter((n) => n.service !== undefined).map((n) => n.wallet.address as Address);

async function startNode(node: Node): Promise<void> {
  const gossip = hub.join(node.wallet.address as Address);
  const service = createAttestorService(
    {
      chains,
      dvn: dvnConfig,
      roles: { attestor: true, executor: true },
      pollIntervalMs: 200,
      rpc: { timeoutMs: 5_000, retries: 2, backoffMs: 100 },
      attestor: { fallbackDelayMs: 2_000, republishMs: 1_000, tickMs: 200 },
      executor: { fallbackDelayMs: 2_000, tickMs: 200, pollMs: 1_000, backoffMs: 500 },
    },
    {
      wallet: node.wallet,
      gossip,
      liveSigners: live,
      ...node.stores,
      log: (msg, fields) => void node.logs.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    },
  );
  await service.start();
  node.service = service;
  node.stopGossip = () => gossip.stop();
}

async function stopNode(node: Node): Promise<void> {
  const service = node.service;
  node.service = undefined;
  await service?.stop();
  await node.stopGossip?.();
}

/** Sends one increment A -> B; returns the packet's guid (from the endpoint's outbound nonce). */
async function sendIncrement(): Promise<Hex> {
  const counter = stackA.counter;
  const [fee] = (await counter.getFunction('quote')(EID_B, VANILLA, OPTIONS)) as [bigint, bigint];
  const tx = await counter.getFunction('increment')(EID_B, VANILLA, OPTIONS, { value: fee });
  const receipt = await tx.wait();
  const sent = receipt.logs.find((l: { topics: string[] }) => l.topics[0] === TOPIC.PacketSent);
  return decodePacket(ENDPOINT.decodeEventLog('PacketSent', sent.data, sent.topics).encodedPayload).guid;
}

/** How many times, across all nodes, `action` was logged for `guid`: each must happen exactly once. */
function actions(action: 'verified' | 'committed' | 'delivered', guid: Hex): number {
  return nodes.flatMap((n) => n.logs).filter((l) => l.startsWith(`${action} {"guid":"${guid}"`)).length;
}

/** Waits until every running node has closed its journal and attest records (they learn it from the chain). */
async function waitAllClosed(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await Promise.all(
      nodes
        .filter((n) => n.service !== undefined)
        .map(async (n) => (await n.stores.journal.open()).length + (await n.stores.records.open()).length),
    );
    if (open.every((x) => x === 0)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('running nodes still hold open packets');
}

function expectExactlyOnce(guid: Hex): void {
  expect([actions('verified', guid), actions('committed', guid), actions('delivered', guid)]).toEqual([
    1, 1, 1,
  ]);
}

async function countOnB(): Promise<bigint> {
  return (await stackB.counter.getFunction('count')()) as bigint;
}

async function waitForCount(n: bigint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await countOnB()) === n) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const logs = nodes.map((x, i) => `node ${i}: ${x.logs.slice(-8).join('\n  ')}`).join('\n');
  throw new Error(`count on B is ${await countOnB()}, expected ${n}\n${logs}`);
}

beforeAll(async () => {
  anvils = await Promise.all([startAnvil({ chainId: EID_A }), startAnvil({ chainId: EID_B })]);
  providers = anvils.map((a) => new JsonRpcProvider(a.rpcUrl, a.chainId, { staticNetwork: true }));
  const [pa, pb] = providers as [JsonRpcProvider, JsonRpcProvider];
  // Different deployers per chain, so no contract shares its address across chains by accident.
  [stackA, stackB] = await Promise.all([
    deployLzStack(await pa.getSigner(0), EID_A, EID_B, dvnConfig.signers, dvnConfig.quorum, 1),
    deployLzStack(await pb.getSigner(4), EID_B, EID_A, dvnConfig.signers, dvnConfig.quorum, 1),
  ]);
  await connectCounters(stackA, EID_A, stackB, EID_B);
  const chain = (name: string, eid: number, stack: LzStack, urls: string[]): ChainConfig => ({
    name,
    chainId: eid,
    eid,
    rpcUrls: urls,
    confirmations: 1,
    isPublic: false,
    layerZero: stack.contracts,
    xmargin: { vault: '0x0000000000000000000000000000000000000001' },
    tokens: [],
  });
  const [a, b] = anvils as [Anvil, Anvil];
  // Two URLs for A (same node, different spelling): exercises the multi-RPC agreement path.
  chains = [
    chain('devnet-a', EID_A, stackA, [a.rpcUrl, `${a.rpcUrl}/`]),
    chain('devnet-b', EID_B, stackB, [b.rpcUrl]),
  ];
  // Automine stays on for quick transactions; empty blocks keep confirmations coming.
  miner = setInterval(() => {
    for (const p of providers) void p.send('evm_mine', []).catch(() => undefined);
  }, 300);
});

afterAll(async () => {
  clearInterval(miner);
  for (const node of nodes) await stopNode(node);
  for (const p of providers) p.destroy();
  await Promise.all(anvils.map((a) => a.stop()));
});

describe('attestor e2e on two anvil chains', () => {
  it('refuses an RPC that serves another chain', async () => {
    const [a] = anvils as [Anvil];
    const rpc = new ChainRpc({ name: 'devnet-b', chainId: EID_B, rpcUrls: [a.rpcUrl] });
    const err = await rpc.checkChainIds().catch((e: unknown) => e);
    rpc.destroy();
    expect(err).toBeInstanceOf(RpcError);
    expect(String((err as Error).message)).toMatch(/devnet-b.*serves chain id 40101, expected 40102/);
  });

  it('computes the DVN hash exactly as DVN.hashCallData on chain', async () => {
    const callData = verifyCallData(`0x01${'00'.repeat(80)}` as Hex, `0x${'11'.repeat(32)}` as Hex, 3n);
    const target = stackB.contracts.receiveUln302;
    const onChain = await stackB.dvn.getFunction('hashCallData')(EID_B % 30000, target, callData, 12345n);
    expect(dvnHash(EID_B % 30000, target, 12345n, callData)).toBe(onChain);
  });

  it('delivers A -> B through DVN.execute, commitVerification and lzReceive with all three nodes', async () => {
    for (const node of nodes) await startNode(node);
    const guid = await sendIncrement();
    await waitForCount(1n, 30_000);
    // The fallback nodes pass their deadlines, find it landed, and close it without a transaction.
    await waitAllClosed(10_000);
    expectExactlyOnce(guid);
  }, 45_000);

  it('still delivers with one node stopped (quorum 2 of 3)', async () => {
    await stopNode(nodes[0] as Node);
    const guid = await sendIncrement();
    await waitForCount(2n, 30_000);
    await waitAllClosed(10_000);
    expectExactlyOnce(guid);
  }, 45_000);

  it('waits with two nodes stopped and completes when one returns', async () => {
    await stopNode(nodes[1] as Node);
    const guid = await sendIncrement();
    await new Promise((r) => setTimeout(r, 4_000));
    expect(await countOnB()).toBe(2n);
    expect(actions('verified', guid)).toBe(0);
    // Node 0 comes back: it backfills A from its stored cursor, signs, and hears node 2's
    // re-gossiped signature.
    await startNode(nodes[0] as Node);
    await waitForCount(3n, 30_000);
    await waitAllClosed(10_000);
    expectExactlyOnce(guid);
  }, 45_000);
});
