// Fault scenarios of the verifier set (issue 7), on a 2-chain devnet (A: collateral, B: engine; 1 s
// blocks, 2 confirmations) with four real `xmargin node` processes, DVN quorum 2 of 4:
//   node 1  attestor + executor, reads chain A through two RPC URLs: the honest anvil, then a lying
//           proxy (test/faults/rpc-proxy.ts, rewrite mode) that serves every PacketSent of A with its
//           LOCK rewritten to credit an attacker 1,000 WETH;
//   node 2, node 3  attestor + executor, honest RPCs;
//   node 4  attestor only, its only RPC of chain A is the lying proxy.
// Scenarios:
//   poisoned-rpc-disagree  node 1's two RPCs disagree on the deposit's logs: it refuses to sign and
//                          says so (/status packets.refused, xmargin_attestor_refusals_total), while
//                          nodes 2 and 3 verify the deposit and it is credited once;
//   poisoned-rpc-forged    node 4 signs the forged packet its lying RPC shows it; with the quorum
//                          honest the forged payload is never verified on B, the attacker gets
//                          nothing, the real deposit is credited once;
//   poisoned-rpc-config    `xmargin config check` and `xmargin wire` (real processes) refuse a public
//                          network whose pathways need a single verifier, with one readable line;
//   stolen-key             node 4's key is declared stolen: removed from both chains' DVN signer set
//                          through the DVN's own quorum `execute` (and its DVN admin role revoked),
//                          and from nodes 1-3's networks file (restarted); node 4 keeps running with
//                          its old config: the others count its gossip as UNKNOWN_SIGNER and its score
//                          falls, a forged packet with the stolen key's signature verifies nothing, and
//                          honest deposits are verified (2 of the 3 remaining) and credited once.
// Every scenario ends with the DESIGN.md invariants checked on chain.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Contract, concat, keccak256, Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DVN, ENDPOINT, RECEIVE_ULN, TOPIC } from '../../attestor/abi.ts';
import type { Address, ChainConfig, DevnetManifest, Hex, NodeConfig } from '../../relayer/config/types.ts';
import { removeDvnSigner } from '../../relayer/deploy/dvn-signers.ts';
import { decodeMessage, encodeMessage, MSG_TYPE } from '../../relayer/protocol/index.ts';
import { forgedLock, signedBy, submitForged, verifiedOnB, wethCreditOnB } from './forge.ts';
import { bootNet, checkInvariants, Depositor, keyOf, type Net, result, sleep, waitFor } from './harness.ts';
import { FaultProxy, type Rpcreq } from './rpc-proxy.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const NODE_BIN = path.join(ROOT, 'node_modules', '.bin', 'node');
/** Header (81 bytes) and guid (32) of an encoded packet, in hex characters after 0x. */
const HEADER_HEX = 81 * 2;
const GUID_HEX = 32 * 2;
const FORGED_AMOUNT = 1000n * 10n ** 18n;
/** Longer than an attestor's fallback delay (15 s): time for anything the forged signature could do. */
const GENEROUS_WAIT_MS = 20_000;

let net: Net | undefined;
let liar: FaultProxy | undefined;
let A: ChainConfig;
let B: ChainConfig;
let trader: Depositor;
const attacker = Wallet.createRandom().address as Address;
/** guid -> the payload hash of the forged version the lying RPC served. */
const forgedHashes = new Map<string, Hex>();

function n(): Net {
  if (net === undefined) throw new Error('no devnet');
  return net;
}

/** A PacketSent's encoded packet with its LOCK rewritten to credit the attacker. */
function forgePacket(encoded: string): string {
  const head = encoded.slice(0, 2 + HEADER_HEX + GUID_HEX);
  const message = decodeMessage(`0x${encoded.slice(2 + HEADER_HEX + GUID_HEX)}`);
  if (message.type !== MSG_TYPE.LOCK) return encoded;
  const forged = encodeMessage({
    type: MSG_TYPE.LOCK,
    body: { ...message.body, account: attacker, amount: FORGED_AMOUNT },
  });
  const guid = `0x${encoded.slice(2 + HEADER_HEX, 2 + HEADER_HEX + GUID_HEX)}`;
  forgedHashes.set(guid, keccak256(concat([guid, forged])) as Hex);
  return `${head}${forged.slice(2)}`;
}

/** The lying RPC: eth_getLogs answers with every PacketSent of A's endpoint forged. */
function lie(request: Rpcreq, answer: unknown): unknown {
  if (request.method !== 'eth_getLogs' || !Array.isArray(answer)) return answer;
  return (answer as { address: string; topics: string[]; data: string }[]).map((log) => {
    if (
      log.topics[0] !== TOPIC.PacketSent ||
      log.address.toLowerCase() !== A.layerZero.endpointV2.toLowerCase()
    )
      return log;
    const [packet, options, lib] = ENDPOINT.decodeEventLog('PacketSent', log.data, log.topics) as unknown as [
      string,
      string,
      string,
    ];
    return { ...log, data: ENDPOINT.encodeEventLog('PacketSent', [forgePacket(packet), options, lib]).data };
  });
}

/** The deposit's packet: guid, header and the real payload hash, from the PacketSent in its block. */
async function packetAt(block: number): Promise<{ guid: Hex; header: Hex; payloadHash: Hex }> {
  const logs = await n()
    .rpc(A)
    .getLogs({
      address: A.layerZero.endpointV2,
      topics: [TOPIC.PacketSent],
      fromBlock: block,
      toBlock: block,
    });
  const log = logs.at(-1);
  if (log === undefined) throw new Error(`no PacketSent in block ${block}`);
  const [encoded] = ENDPOINT.decodeEventLog('PacketSent', log.data, log.topics) as unknown as [string];
  return {
    header: `0x${encoded.slice(2, 2 + HEADER_HEX)}` as Hex,
    guid: `0x${encoded.slice(2 + HEADER_HEX, 2 + HEADER_HEX + GUID_HEX)}` as Hex,
    payloadHash: keccak256(`0x${encoded.slice(2 + HEADER_HEX)}`) as Hex,
  };
}

/** Whether node i's log says it signed `guid` (a `signed` line, not `not signing`). */
function signed(i: number, guid: string): boolean {
  const file = n().cluster.nodes[i]?.logFile as string;
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((l) => l.includes(guid) && l.includes('"msg":"signed"'));
}

/** A counter of node i's /metrics, summed over the series whose labels include `labels`. */
async function metric(i: number, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${n().cluster.nodes[i]?.apiUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** PayloadVerified events on B whose proof hash is `payloadHash`. */
async function payloadVerifiedEvents(payloadHash: Hex): Promise<number> {
  const logs = await n()
    .rpc(B)
    .getLogs({
      address: B.layerZero.receiveUln302,
      topics: [TOPIC.PayloadVerified],
      fromBlock: 0,
    });
  return logs.filter((l) => {
    const [, , , proofHash] = RECEIVE_ULN.decodeEventLog('PayloadVerified', l.data, l.topics) as unknown as [
      string,
      string,
      bigint,
      string,
    ];
    return proofHash.toLowerCase() === payloadHash.toLowerCase();
  }).length;
}

function cli(...args: string[]): { code: number; stderr: string } {
  const r = spawnSync(NODE_BIN, [path.join(ROOT, 'relayer/cli/main.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stderr: r.stderr };
}

/** Points node i at a networks file derived from the one it reads now, then restarts it. */
async function reconfigure(i: number, change: (m: DevnetManifest) => DevnetManifest): Promise<void> {
  const node = n().cluster.nodes[i];
  if (node === undefined) throw new Error(`no node ${i}`);
  const config = JSON.parse(readFileSync(node.configFile, 'utf8')) as NodeConfig;
  const current = JSON.parse(
    readFileSync(path.resolve(path.dirname(node.configFile), config.networksFile), 'utf8'),
  ) as DevnetManifest;
  const file = path.join(node.dir, 'networks-rotated.json');
  writeFileSync(file, `${JSON.stringify(change(current), null, 2)}\n`);
  writeFileSync(node.configFile, `${JSON.stringify({ ...config, networksFile: file }, null, 2)}\n`);
  await n().cluster.stop(i);
  await n().cluster.start(i);
}

describe('faults: a poisoned RPC, a single verifier, a stolen attestor key', () => {
  beforeAll(async () => {
    net = await bootNet({
      chains: 2,
      attestors: 4,
      quorum: 2,
      confirmations: 2,
      nodeOverrides: [undefined, undefined, undefined, { roles: ['attestor'] }],
      nodeManifests: async (manifest) => {
        const a = manifest.chains[0] as ChainConfig;
        A = a;
        liar = new FaultProxy(a.rpcUrls[0] as string);
        liar.rewrite = lie;
        liar.set('rewrite');
        const url = await liar.listen();
        const withA = (rpcUrls: string[]): DevnetManifest => ({
          ...manifest,
          chains: manifest.chains.map((c, i) => (i === 0 ? { ...c, rpcUrls } : c)),
        });
        return [withA([a.rpcUrls[0] as string, url]), undefined, undefined, withA([url])];
      },
    });
    [A, B] = net.chains as [ChainConfig, ChainConfig];
    trader = new Depositor(net, keyOf(net.manifest, 'trader'));
    await trader.prepare();
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
    await liar?.close();
  }, 60_000);

  it('poisoned-rpc-disagree: an attestor whose two RPCs disagree refuses to sign and says so', async () => {
    const before = await trader.credit();
    const amount = 10n ** 17n;
    const at = Date.now();
    const block = await trader.deposit(amount);
    const { guid } = await packetAt(block);
    const creditedMs = await waitFor('the deposit credited', async () =>
      (await trader.credit()) === before + amount ? Date.now() - at : undefined,
    );
    const refused = await waitFor('node 1 to report its refusal', async () => {
      const r = (await n().status(0)).packets.refused;
      return r?.recent.some((x) => x.guid === guid && x.reason === 'rpc_disagreement') ? r : undefined;
    });
    const refusedMetric = await metric(0, 'xmargin_attestor_refusals_total', 'reason="rpc_disagreement"');
    const othersRefused = await Promise.all(
      [1, 2].map(async (i) => (await n().status(i)).packets.refused?.total),
    );
    const signers = [0, 1, 2].filter((i) => signed(i, guid)).map((i) => i + 1);
    await sleep(2_000);
    const final = await trader.credit();
    const inv = await checkInvariants(n(), [trader.address, attacker]);
    const ok =
      final === before + amount &&
      refusedMetric >= 1 &&
      signers.join(',') === '2,3' &&
      othersRefused.every((x) => x === 0) &&
      inv.failed.length === 0;
    result(
      'poisoned-rpc-disagree',
      ok,
      `node 1 (RPCs of A: honest + lying) refused to sign (status packets.refused rpc_disagreement ${refused.byReason.rpc_disagreement}, metric ${refusedMetric}; "${refused.recent[0]?.detail.slice(0, 70)}…"); signed by nodes ${signers.join(' and ')} of 1-3, nodes 2-3 refused 0; credited once ${creditedMs} ms after the deposit; ${inv.summary}`,
    );
    expect(final).toBe(before + amount);
    expect(refusedMetric).toBeGreaterThanOrEqual(1);
    expect(signers).toEqual([2, 3]);
    expect(othersRefused).toEqual([0, 0]);
    expect(inv.failed).toEqual([]);
  }, 120_000);

  it('poisoned-rpc-forged: a node whose only RPC lies cannot get its forged packet verified', async () => {
    const before = await trader.credit();
    const amount = 2n * 10n ** 17n;
    const at = Date.now();
    const block = await trader.deposit(amount);
    const real = await packetAt(block);
    const creditedMs = await waitFor('the real deposit credited', async () =>
      (await trader.credit()) === before + amount ? Date.now() - at : undefined,
    );
    // Node 4 saw (and signed) only the forged version of this packet.
    await waitFor('node 4 to sign the forged packet', async () => (signed(3, real.guid) ? true : undefined));
    const forgedHash = forgedHashes.get(real.guid);
    if (forgedHash === undefined) throw new Error('the lying RPC never served this packet');
    const signedAt = Date.now();
    await sleep(GENEROUS_WAIT_MS);
    const forgedVerified = await verifiedOnB(n(), B, real.header, forgedHash);
    const forgedEvents = await payloadVerifiedEvents(forgedHash);
    const realEvents = await payloadVerifiedEvents(real.payloadHash);
    const attackerCredit = await wethCreditOnB(n(), A, B, attacker);
    const final = await trader.credit();
    const inv = await checkInvariants(n(), [trader.address, attacker]);
    const ok =
      !forgedVerified &&
      forgedEvents === 0 &&
      realEvents === 1 &&
      attackerCredit === 0n &&
      final === before + amount &&
      inv.failed.length === 0;
    result(
      'poisoned-rpc-forged',
      ok,
      `node 4 (only RPC of A lying) signed a forged LOCK of 1,000 WETH for the attacker; ${((Date.now() - signedAt) / 1000).toFixed(0)} s later: verified=${forgedVerified}, ${forgedEvents} PayloadVerified for it, attacker credit ${attackerCredit}; the real packet verified once (${realEvents} PayloadVerified) and credited ${creditedMs} ms after the deposit; ${inv.summary}`,
    );
    expect(forgedVerified).toBe(false);
    expect(forgedEvents).toBe(0);
    expect(realEvents).toBe(1);
    expect(attackerCredit).toBe(0n);
    expect(final).toBe(before + amount);
    expect(inv.failed).toEqual([]);
  }, 120_000);

  it('poisoned-rpc-config: config check and wire refuse a public pathway with one verifier', async () => {
    const file = path.join(n().dir, 'public-networks.json');
    writeFileSync(
      file,
      `${JSON.stringify(
        {
          version: 1,
          dvn: n().manifest.dvn,
          chains: n().manifest.chains.map((c) => ({ ...c, isPublic: true })),
        },
        null,
        2,
      )}\n`,
    );
    const keyFile = path.join(n().dir, 'owner.key');
    writeFileSync(keyFile, `${keyOf(n().manifest, 'deployer').privateKey}\n`, { mode: 0o600 });
    const runs = [
      cli('config', 'check', file),
      cli('wire', '--networks', file, '--key', keyFile, '--dry-run'),
    ];
    const lines = runs.map((r) => r.stderr.trim().split('\n'));
    const readable = runs.every(
      (r, i) =>
        r.code !== 0 &&
        lines[i]?.length === 1 &&
        /at least 2 independent verifiers/.test(r.stderr) &&
        /extraDvns/.test(r.stderr) &&
        r.stderr.includes(A.name),
    );
    const inv = await checkInvariants(n(), [trader.address, attacker]);
    result(
      'poisoned-rpc-config',
      readable && inv.failed.length === 0,
      `exit ${runs.map((r) => r.code).join(' / ')}: ${lines.map((l) => `"${l.join(' | ')}"`).join('; ')}; ${inv.summary}`,
    );
    for (const [i, r] of runs.entries()) {
      expect(r.code).not.toBe(0);
      expect(lines[i]).toHaveLength(1);
      expect(r.stderr).toMatch(/at least 2 independent verifiers/);
      expect(r.stderr).toMatch(/extraDvns/);
    }
    expect(inv.failed).toEqual([]);
  }, 120_000);

  it('stolen-key: a key removed from the signer set is refused on gossip and on chain', async () => {
    const { manifest } = n();
    liar?.set('pass'); // the RPC faults are over; what follows is about the key alone
    const stolen = keyOf(manifest, 'attestor', 3);
    const staying = [0, 1, 2].map((i) => new Wallet(keyOf(manifest, 'attestor', i).privateKey));
    const node4Peer = n().cluster.nodes[3]?.peerId as string;
    const peerOf = async (i: number) => (await n().status(i)).peers.find((p) => p.peerId === node4Peer);
    const scoresBefore = await Promise.all([0, 1, 2].map(async (i) => (await peerOf(i))?.score ?? 0));

    // 1. On chain: both DVNs, through their own quorum.
    const deployer = keyOf(manifest, 'deployer');
    const changed = [];
    for (const chain of [A, B]) {
      changed.push(
        await removeDvnSigner({
          dvn: chain.layerZero.dvn,
          submitter: new Wallet(deployer.privateKey, n().rpc(chain)),
          signers: staying.slice(0, 2),
          remove: stolen.address,
          quorum: 2,
          label: chain.name,
        }),
      );
    }
    // 2. In the remaining nodes' config: the networks file's dvn set, then a restart.
    const remaining = manifest.dvn.signers.filter((s) => s.toLowerCase() !== stolen.address.toLowerCase());
    const rotatedAt = Date.now();
    await Promise.all(
      [0, 1, 2].map((i) => reconfigure(i, (m) => ({ ...m, dvn: { signers: remaining, quorum: 2 } }))),
    );
    const allowed = new Set(remaining.map((s) => s.toLowerCase()));
    await waitFor('nodes 1-3 back in the mesh', async () => {
      for (const i of [0, 1, 2]) {
        const s = await n().status(i);
        if (s.peers.filter((p) => p.signer !== undefined && allowed.has(p.signer.toLowerCase())).length < 2)
          return undefined;
      }
      return true;
    });

    // 3. Honest deposits keep flowing, verified by the remaining signers.
    const before = await trader.credit();
    const amount = 3n * 10n ** 17n;
    const at = Date.now();
    await trader.deposit(amount);
    const creditedMs = await waitFor('the deposit after the rotation credited', async () =>
      (await trader.credit()) === before + amount ? Date.now() - at : undefined,
    );

    // 4. Node 4 (still running with the stolen key and its old config) is refused by the others.
    const refusedBy = await waitFor(
      "nodes 1-3 to count node 4's gossip as UNKNOWN_SIGNER and lower its score",
      async () => {
        const peers = await Promise.all([0, 1, 2].map(peerOf));
        return peers.every(
          (p, k) =>
            (p?.rejected?.UNKNOWN_SIGNER ?? 0) > 0 && (p?.score ?? 0) < Math.min(0, scoresBefore[k] ?? 0),
        )
          ? peers
          : undefined;
      },
      60_000,
      500,
    );
    const unknownMetric = await Promise.all(
      [0, 1, 2].map((i) => metric(i, 'xmargin_gossip_rejections_total', 'code="UNKNOWN_SIGNER"')),
    );

    // 5. A forged LOCK signed with the stolen key: submitted by the thief (no longer a DVN admin) and
    // by an admin that relays it (the thief's key alone is no quorum, nor a signer at all).
    const packet = forgedLock(A, B, 10_000n, attacker, FORGED_AMOUNT);
    const thief = new Wallet(stolen.privateKey);
    const admin = new Wallet(deployer.privateKey);
    const bySelf = await submitForged(n(), B, thief, packet, signedBy(thief));
    const relayed = await submitForged(n(), B, admin, packet, signedBy(thief));
    // With one more signer's signature (ascending signer order, as the DVN wants): a quorum before the
    // rotation, nothing after it.
    const pair = [thief, staying[0] as Wallet].sort((x, y) =>
      BigInt(x.address) < BigInt(y.address) ? -1 : 1,
    );
    const withOther = await submitForged(
      n(),
      B,
      admin,
      packet,
      async (h) => concat(await Promise.all(pair.map((w) => signedBy(w)(h)))) as Hex,
    );
    const forgedVerified = await verifiedOnB(n(), B, packet.header, packet.payloadHash);
    const dvnB = new Contract(B.layerZero.dvn, DVN, n().rpc(B));
    const stillSigner = (await dvnB.getFunction('isSigner')(stolen.address)) as boolean;
    const attackerCredit = await wethCreditOnB(n(), A, B, attacker);
    const final = await trader.credit();
    const inv = await checkInvariants(n(), [trader.address, attacker]);
    const ok =
      changed.every((c) => c.signerSize === 3 && c.quorum === 2 && c.adminRevoked) &&
      !stillSigner &&
      unknownMetric.every((x) => x > 0) &&
      bySelf === 'reverted' &&
      relayed === 'refused' &&
      withOther === 'refused' &&
      !forgedVerified &&
      attackerCredit === 0n &&
      final === before + amount &&
      inv.failed.length === 0;
    result(
      'stolen-key',
      ok,
      `node 4's key removed from both DVNs by quorum execute (signers ${changed.map((c) => c.signerSize).join('/')}, quorum ${changed.map((c) => c.quorum).join('/')}, admin revoked) and from nodes 1-3's config (restarted ${((Date.now() - rotatedAt) / 1000).toFixed(1)} s before the check); its gossip rejected UNKNOWN_SIGNER by nodes 1-3 (${refusedBy.map((p) => p?.rejected?.UNKNOWN_SIGNER).join('/')} messages in /status, metric ${unknownMetric.join('/')}), its score ${scoresBefore.map((s) => s.toFixed(0)).join('/')} -> ${refusedBy.map((p) => (p?.score ?? 0).toFixed(0)).join('/')}; forged LOCK with the stolen key: submitted by the thief ${bySelf}, relayed by an admin ${relayed}, with a remaining signer's signature added ${withOther}, verified=${forgedVerified}, attacker credit ${attackerCredit}; honest deposit credited once ${creditedMs} ms after it (quorum 2 of the 3 remaining signers); ${inv.summary}`,
    );
    expect(changed.map((c) => [c.signerSize, c.quorum, c.adminRevoked])).toEqual([
      [3, 2, true],
      [3, 2, true],
    ]);
    expect(stillSigner).toBe(false);
    expect(unknownMetric.every((x) => x > 0)).toBe(true);
    expect(bySelf).toBe('reverted');
    expect(relayed).toBe('refused');
    expect(withOther).toBe('refused');
    expect(forgedVerified).toBe(false);
    expect(attackerCredit).toBe(0n);
    expect(final).toBe(before + amount);
    expect(inv.failed).toEqual([]);
  }, 180_000);
});
