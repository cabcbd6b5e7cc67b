// Fault scenario on a 2-chain devnet (1 s blocks) with three real `xmargin node` processes (attestor +
// executor; DVN quorum 2 of 3), deposits A -> engine B:
//   unordered-out-of-gas  the vault's enforced LOCK options are cut to 1 gas, so one deposit's
//                         packet carries too little lzReceive gas for the engine; a second deposit in
//                         the same block (a later nonce) carries enough through its own options. The
//                         later packet lands first (the engine keeps LayerZero's unordered nonces);
//                         the starved one runs out of gas on chain, and the executors retry it with a
//                         doubled gas limit until it lands, exactly once.
// Ends with the DESIGN.md invariants checked on chain.

import { Contract, Interface, Wallet, zeroPadValue } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENDPOINT, TOPIC } from '../../attestor/abi.ts';
import { encodeLzReceiveOption } from '../../attestor/options.ts';
import { parsePacketJobs } from '../../attestor/packets.ts';
import { readArtifact } from '../../relayer/chain/artifacts.ts';
import { ChainRpc } from '../../relayer/chain/rpc.ts';
import type { ChainConfig, Hex } from '../../relayer/config/types.ts';
import { DEFAULT_LZ_RECEIVE_GAS } from '../../relayer/deploy/wire.ts';
import { bootNet, checkInvariants, Depositor, keyOf, type Net, result, waitFor } from './harness.ts';

const LOCK = 1;
const WAD = 10n ** 18n;

let net: Net | undefined;
let A: ChainConfig;
let B: ChainConfig;

function n(): Net {
  if (net === undefined) throw new Error('no devnet');
  return net;
}

/** Sets the vault on A's enforced lzReceive gas for LOCKs to engine B (the deployer owns the vault). */
async function setLockGas(gas: bigint): Promise<void> {
  const deployer = new Wallet(n().manifest.accounts[0]?.privateKey as string, n().rpc(A));
  const vault = new Contract(A.xmargin.vault, readArtifact('CollateralVault').abi, deployer);
  const tx = await vault.getFunction('setEnforcedOptions')([[B.eid, LOCK, encodeLzReceiveOption(gas)]]);
  await tx.wait();
}

interface Delivery {
  block: number;
  index: number;
}

/** PacketDelivered events on B for A's vault, by nonce. */
async function deliveries(fromBlock: number): Promise<Map<bigint, Delivery[]>> {
  const logs = await n()
    .rpc(B)
    .getLogs({ address: B.layerZero.endpointV2, topics: [TOPIC.PacketDelivered], fromBlock });
  const out = new Map<bigint, Delivery[]>();
  const sender = zeroPadValue(A.xmargin.vault, 32).toLowerCase();
  for (const l of logs) {
    const ev = ENDPOINT.decodeEventLog('PacketDelivered', l.data, l.topics);
    const origin = ev.origin as unknown as { srcEid: bigint; sender: string; nonce: bigint };
    if (Number(origin.srcEid) !== A.eid || origin.sender.toLowerCase() !== sender) continue;
    const list = out.get(origin.nonce) ?? [];
    list.push({ block: l.blockNumber, index: l.index });
    out.set(origin.nonce, list);
  }
  return out;
}

/** Every lzReceive transaction on B for `guid` since `fromBlock`: how many reverted, how many landed. */
async function lzReceiveAttempts(
  guid: Hex,
  fromBlock: number,
): Promise<{ reverted: number; landed: number }> {
  const endpoint = new Interface(ENDPOINT.fragments);
  const p = n().rpc(B);
  const head = await p.getBlockNumber();
  let reverted = 0;
  let landed = 0;
  for (let b = fromBlock; b <= head; b++) {
    const block = await p.getBlock(b, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to?.toLowerCase() !== B.layerZero.endpointV2.toLowerCase()) continue;
      const call = endpoint.parseTransaction({ data: tx.data });
      if (call?.name !== 'lzReceive' || call.args[2] !== guid) continue;
      const receipt = await p.getTransactionReceipt(tx.hash);
      if (receipt?.status === 1) landed++;
      else reverted++;
    }
  }
  return { reverted, landed };
}

describe('faults: unordered delivery and an out-of-gas lzReceive', () => {
  beforeAll(async () => {
    net = await bootNet({ chains: 2, attestors: 3, quorum: 2 });
    [A, B] = net.chains as [ChainConfig, ChainConfig];
  }, 240_000);

  afterAll(async () => {
    await net?.stop();
  }, 60_000);

  it('unordered-out-of-gas: the later packet lands first, the starved one is retried with more gas and lands once', async () => {
    const starved = new Depositor(n(), keyOf(n().manifest, 'trader'));
    const later = new Depositor(n(), keyOf(n().manifest, 'spare', 0));
    await Promise.all([starved.prepare(), later.prepare()]);
    // xmargin's OApps keep OAppReceiver's nextNonce() = 0: the endpoint delivers any verified nonce.
    const engine = new Contract(B.xmargin.engine as string, readArtifact('MarginEngine').abi, n().rpc(B));
    expect(
      await engine.getFunction('nextNonce')(A.eid, zeroPadValue(A.xmargin.vault, 32)),
      'the engine does not ask for ordered delivery',
    ).toBe(0n);

    const from = await n().rpc(B).getBlockNumber();
    const fromA = await n().rpc(A).getBlockNumber();
    await setLockGas(1n);
    // Both in one block of A, the starved one first (the lower nonce). The later deposit adds the
    // usual gas through its own options (they add up with the enforced ones).
    const t0 = Date.now();
    const first = starved.deposit(WAD);
    await new Promise((r) => setTimeout(r, 100));
    const second = later.deposit(WAD, encodeLzReceiveOption(DEFAULT_LZ_RECEIVE_GAS));
    await Promise.all([first, second]);
    await setLockGas(DEFAULT_LZ_RECEIVE_GAS);

    // The whole blocks' logs (parsePacketJobs pairs each PacketSent with the fee logs before it).
    const rpcA = new ChainRpc(A);
    const logs = await rpcA.getLogs({ fromBlock: fromA }).finally(() => rpcA.destroy());
    const jobs = parsePacketJobs(logs, A.layerZero).jobs.filter((j) => j.packet.dstEid === B.eid);
    expect(jobs).toHaveLength(2);
    const [low, high] = [...jobs].sort((x, y) => Number(x.packet.nonce - y.packet.nonce));
    expect(low?.options, 'the lower nonce is the starved packet (1 gas)').toBe(encodeLzReceiveOption(1n));

    const landed = await waitFor(
      'both packets delivered',
      async () => {
        const d = await deliveries(from);
        return d.has(low?.packet.nonce ?? 0n) && d.has(high?.packet.nonce ?? 0n) ? d : undefined;
      },
      90_000,
      250,
    );
    const landMs = Date.now() - t0;
    const dl = landed.get(low?.packet.nonce ?? 0n) ?? [];
    const dh = landed.get(high?.packet.nonce ?? 0n) ?? [];
    const attempts = await lzReceiveAttempts(low?.packet.guid as Hex, from);
    const laterFirst =
      (dh[0]?.block ?? 0) < (dl[0]?.block ?? 0) ||
      ((dh[0]?.block ?? 0) === (dl[0]?.block ?? 0) && (dh[0]?.index ?? 0) < (dl[0]?.index ?? 0));
    const gap = (dl[0]?.block ?? 0) - (dh[0]?.block ?? 0);
    const credited = (await starved.credit()) === WAD && (await later.credit()) === WAD;
    const { failed, summary } = await checkInvariants(n(), [starved.address, later.address]);
    const ok =
      laterFirst &&
      dl.length === 1 &&
      attempts.reverted >= 1 &&
      attempts.landed === 1 &&
      credited &&
      failed.length === 0;
    result(
      'unordered-out-of-gas',
      ok,
      `starved packet landed ${(landMs / 1000).toFixed(1)} s after the deposit, after ${attempts.reverted} out-of-gas attempt(s); later nonce landed ${gap === 0 ? 'earlier in the same block' : `${gap} block(s) before it`}; ${summary}`,
    );
    expect(laterFirst, 'the later nonce was delivered before the starved one').toBe(true);
    expect(attempts.reverted, 'the starved packet ran out of gas at least once').toBeGreaterThanOrEqual(1);
    expect(attempts.landed).toBe(1);
    expect(dl).toHaveLength(1);
    expect(dh).toHaveLength(1);
    expect(credited).toBe(true);
    expect(failed).toEqual([]);
  });
});
