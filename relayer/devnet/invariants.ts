// On-chain checks of the design brief's invariants on a devnet, for `xmargin start` and the fault
// suite (test/faults): conservation per vault and asset and per (account, asset), and the messaging
// layer's exactly-once property (every PacketSent between devnet chains delivered, none twice).

import { AbiCoder, Contract, formatUnits, type JsonRpcProvider } from 'ethers';
import { ENDPOINT } from '../../attestor/abi.ts';
import { decodePacket } from '../../attestor/packets.ts';
import { readArtifact } from '../chain/artifacts.ts';
import type { Address, ChainConfig, DevnetManifest, Hex } from '../config/types.ts';

export interface InvariantResult {
  name: string;
  held: boolean;
  detail: string;
}

/**
 * DESIGN.md invariant 1 (conservation) on chain: per vault and token, balance >= locked + queued;
 * for each of `accounts` (subaccount 0) and token, Σ vault credit == locked and every engine's
 * credit <= the vault's record of it.
 */
export async function checkConservation(
  manifest: DevnetManifest,
  accounts: readonly Address[],
  provider: (chain: ChainConfig) => JsonRpcProvider,
): Promise<InvariantResult[]> {
  const out: InvariantResult[] = [];
  const vaultAbi = readArtifact('CollateralVault').abi;
  const engineAbi = readArtifact('MarginEngine').abi;
  const erc20Abi = readArtifact('MockERC20').abi;
  const engines = manifest.chains.filter((c) => c.xmargin.engine !== undefined);
  for (const chain of manifest.chains) {
    const p = provider(chain);
    const vault = new Contract(chain.xmargin.vault, vaultAbi, p);
    for (const token of chain.tokens.filter((t) => ['WETH', 'USDC'].includes(t.symbol))) {
      const balance = (await new Contract(token.address, erc20Abi, p).getFunction('balanceOf')(
        chain.xmargin.vault,
      )) as bigint;
      const locked = (await vault.getFunction('totalLocked')(token.address)) as bigint;
      const queued = (await vault.getFunction('totalQueued')(token.address)) as bigint;
      out.push({
        name: `vault ${chain.name} ${token.symbol}: balance >= locked + queued`,
        held: balance >= locked + queued,
        detail: `${formatUnits(balance, token.decimals)} >= ${formatUnits(locked + queued, token.decimals)}`,
      });
      for (const account of accounts) {
        const mine = (await vault.getFunction('locked')(account, 0n, token.address)) as bigint;
        let creditSum = 0n;
        let engineOk = true;
        for (const e of engines) {
          const vaultCredit = (await vault.getFunction('credit')(
            e.eid,
            account,
            0n,
            token.address,
          )) as bigint;
          creditSum += vaultCredit;
          const engine = new Contract(e.xmargin.engine as string, engineAbi, provider(e));
          const engineCredit = (await engine.getFunction('creditOf')(
            account,
            0n,
            chain.eid,
            token.address,
          )) as bigint;
          if (engineCredit > vaultCredit) engineOk = false;
        }
        if (mine > 0n || creditSum > 0n) {
          out.push({
            name: `${account.slice(0, 8)}'s ${token.symbol} on ${chain.name}: engine credit + in flight <= locked`,
            held: engineOk && creditSum === mine,
            detail: `Σ vault credit ${formatUnits(creditSum, token.decimals)} == locked ${formatUnits(mine, token.decimals)}; every engine's credit <= the vault's record`,
          });
        }
      }
    }
  }
  return out;
}

export interface PacketAudit {
  sent: number;
  delivered: number;
  verified: number;
  /** Sent between devnet chains and not delivered, as "srcEid/nonce->dstEid". */
  missing: string[];
  /** Origins (srcEid, sender, nonce) with more than one PacketDelivered. */
  deliveredTwice: string[];
  /** Origins with more than one PacketVerified. */
  verifiedTwice: string[];
}

const originKey = (srcEid: bigint | number, sender: string, nonce: bigint): string =>
  AbiCoder.defaultAbiCoder().encode(['uint32', 'bytes32', 'uint64'], [srcEid, sender, nonce]);

/** Every PacketSent between the manifest's chains against every endpoint's PacketVerified/Delivered. */
export async function auditPackets(
  manifest: DevnetManifest,
  provider: (chain: ChainConfig) => JsonRpcProvider,
): Promise<PacketAudit> {
  const eids = new Set(manifest.chains.map((c) => c.eid));
  const sent = new Map<string, string>();
  const delivered = new Map<string, number>();
  const verified = new Map<string, number>();
  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const chain of manifest.chains) {
    const endpoint = new Contract(chain.layerZero.endpointV2, ENDPOINT, provider(chain));
    for (const log of await endpoint.queryFilter(endpoint.getEvent('PacketSent'), 0)) {
      const args = (log as unknown as { args: [string] }).args;
      const packet = decodePacket(args[0] as Hex);
      if (!eids.has(packet.dstEid)) continue;
      sent.set(
        originKey(packet.srcEid, packet.sender, packet.nonce),
        `${packet.srcEid}/${packet.nonce}->${packet.dstEid}`,
      );
    }
    for (const log of await endpoint.queryFilter(endpoint.getEvent('PacketDelivered'), 0)) {
      const [origin] = (log as unknown as { args: [[bigint, string, bigint]] }).args;
      count(delivered, originKey(origin[0], origin[1], origin[2]));
    }
    for (const log of await endpoint.queryFilter(endpoint.getEvent('PacketVerified'), 0)) {
      const [origin] = (log as unknown as { args: [[bigint, string, bigint]] }).args;
      count(verified, originKey(origin[0], origin[1], origin[2]));
    }
  }
  const twice = (m: Map<string, number>) => [...m].filter(([, n]) => n > 1).map(([k]) => sent.get(k) ?? k);
  return {
    sent: sent.size,
    delivered: delivered.size,
    verified: verified.size,
    missing: [...sent].filter(([k]) => !delivered.has(k)).map(([, v]) => v),
    deliveredTwice: twice(delivered),
    verifiedTwice: twice(verified),
  };
}

/** The audit as invariant lines: nothing lost, nothing verified or delivered twice. */
export function packetInvariants(a: PacketAudit): InvariantResult[] {
  return [
    {
      name: 'every packet sent between devnet chains was delivered',
      held: a.missing.length === 0,
      detail: `${a.delivered}/${a.sent} delivered${a.missing.length > 0 ? `; missing ${a.missing.join(', ')}` : ''}`,
    },
    {
      name: 'no packet verified or delivered twice',
      held: a.deliveredTwice.length === 0 && a.verifiedTwice.length === 0,
      detail: `${a.verified} PacketVerified, ${a.delivered} PacketDelivered origins; twice: ${[...a.verifiedTwice, ...a.deliveredTwice].join(', ') || 'none'}`,
    },
  ];
}
