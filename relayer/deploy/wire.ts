// Wires xmargin's OApps across chains: every vault with every remote engine. It READS the on-chain
// state first and plans only the transactions that are missing, so running it twice plans nothing:
//   - peers (vault <-> remote engine) and the local vault <-> engine link
//   - enforced options: lzReceive gas for LOCK and HEARTBEAT (vault -> engine) and RELEASE/SEIZE/MOVE (engine -> vault)
//   - collateral sources: an engine whose chain has an `engine` section in the networks file accepts
//     every token of every wired chain whose symbol is one of its risk assets (a chain added later gets
//     its sources here, at the low default caps, as `xmargin deploy` gives the first ones); caps the
//     file gives (`riskAssets.<symbol>.sourceCaps`) are applied when the engine's differ
//   - vault assets: a token of the chain's `tokens` the vault does not accept yet (low default caps), and
//     the file's `tokens[].caps` when the vault's differ: how a configuration raises the caps over time
//   - per-OApp send and receive libraries pinned to ULN302 (so a change of the endpoint's defaults
//     cannot silently change the path)
//   - xmargin's DVN: a fee config (DVN.setDstConfig) for every other chain, without which the send
//     library cannot quote a packet to that chain (a DVN that `xmargin deploy` just created has none)
//   - per-OApp ULN configs (required DVNs = xmargin's DVN plus `layerZero.extraDvns`, confirmations =
//     the SOURCE chain's `confirmations` on both ends) and the executor config, via EndpointV2.setConfig.
//     They are compared with the OApp's own stored config (ULN `getAppUlnConfig`, `executorConfigs`),
//     not with the effective one, which may merely equal today's defaults.
// On a pathway that touches a public network, wire refuses any ULN config with fewer than two required
// DVNs (design brief, defence in depth).

import { AbiCoder, type AbstractSigner, Contract, getAddress, Interface, id, zeroPadValue } from 'ethers';
import { readArtifact, readLzArtifact } from '../chain/artifacts.ts';
import { TxSender } from '../chain/tx.ts';
import type { Address, ChainConfig, EngineConfig, Hex } from '../config/types.ts';
import { MSG_TYPE } from '../protocol/index.ts';
import { collateralSourcesOf, vaultCapsOf } from './network.ts';
import { collateralSourceArgs, vaultAssetArgs } from './xmargin.ts';

/** What wire reads back of an engine's collateral source and a vault's asset config. */
interface OnChainSource {
  enabled: boolean;
  creditCap: bigint;
  bridgeCapacity: bigint;
  bridgeWindow: bigint;
}
interface OnChainAsset {
  enabled: boolean;
  supplyCap: bigint;
  outflowCapacity: bigint;
  outflowWindow: bigint;
}

/** A chain to wire; `engine` (its section of the networks file, if any) lets wire add collateral sources. */
export type WireChain = ChainConfig & { engine?: EngineConfig };

export const DEFAULT_LZ_RECEIVE_GAS = 350_000n;
export const MAX_MESSAGE_SIZE = 10_000;
const CONFIG_TYPE_EXECUTOR = 1;
const CONFIG_TYPE_ULN = 2;
const NIL_DVN_COUNT = 255;
const ULN_TUPLE = 'tuple(uint64,uint8,uint8,uint8,address[],address[])';
/** LayerZero's Worker role allowed to set a DVN's fee configs. */
const DVN_ADMIN_ROLE = id('ADMIN_ROLE');
/** A DVN's fee config for one destination: the gas its verification costs there (the devnet's value),
 *  10,000 bps (a 1× multiplier) and no floor. */
export const DVN_DST_GAS = 5_000n;
const DVN_MULTIPLIER_BPS = 10_000;

export interface WirePlanItem {
  chain: string;
  contract: string;
  call: string;
  reason: string;
  /** The remote chains this item links `chain` to (empty for the local vault <-> engine link); the
   *  canary uses it to run only on the pathways a wire run changed. */
  remotes: string[];
  to: Address;
  data: Hex;
}

export interface WireOptions {
  dryRun?: boolean;
  /** lzReceive gas enforced for every message type (default 350k, as in BaseTest). */
  lzReceiveGas?: bigint;
  log?: (line: string) => void;
}

/** Thrown when wire refuses a configuration (e.g. a public pathway with a single verifier). */
export class WireError extends Error {
  override name = 'WireError';
}

/** Type-3 options with one executor lzReceive option of `gas` (no value). */
export function lzReceiveOption(gas: bigint): Hex {
  // 0x0003 | worker 1 (executor) | size 17 | option 1 (lzReceive) | uint128 gas
  return `0x000301001101${gas.toString(16).padStart(32, '0')}` as Hex;
}

/** The DVNs a chain's OApps require: xmargin's DVN and any others configured, sorted ascending. */
export function requiredDvns(chain: ChainConfig): Address[] {
  const all = [chain.layerZero.dvn, ...(chain.layerZero.extraDvns ?? [])].map(
    (a) => getAddress(a) as Address,
  );
  return [...new Set(all)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
}

const lower = (a: string): string => a.toLowerCase();
const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => lower(x) === lower(b[i] ?? ''));

type Signers = Record<string, AbstractSigner | TxSender>;

function senderFor(signers: Signers, chain: ChainConfig): TxSender {
  const s = signers[chain.name];
  if (s === undefined) throw new WireError(`wire: no signer for chain "${chain.name}"`);
  if (s instanceof TxSender) return s;
  return new TxSender(s, { label: chain.name });
}

/** Plans (and unless `dryRun`, sends) what is missing; returns the plan. */
export async function wire(chains: WireChain[], signers: Signers, options: WireOptions = {}) {
  const gas = options.lzReceiveGas ?? DEFAULT_LZ_RECEIVE_GAS;
  const wantOptions = lzReceiveOption(gas);
  const vaultI = new Interface(readArtifact('CollateralVault').abi);
  const engineI = new Interface(readArtifact('MarginEngine').abi);
  const endpointI = new Interface(readLzArtifact('EndpointV2').abi);
  const sendUlnI = new Interface(readLzArtifact('SendUln302').abi);
  const dvnI = new Interface(readLzArtifact('DVN').abi);
  const receiveUlnI = new Interface(readLzArtifact('ReceiveUln302').abi);
  const coder = AbiCoder.defaultAbiCoder();

  // Refuse before reading anything. A zero DVN is the placeholder of config/networks.example.json:
  // wiring it would make every packet unverifiable.
  for (const c of chains) {
    if (BigInt(c.layerZero.dvn) === 0n) {
      throw new WireError(
        `wire: ${c.name}: layerZero.dvn is the zero address — set it to xmargin's DVN on ${c.name}`,
      );
    }
  }
  // A public pathway needs >= 2 verifiers.
  for (const src of chains) {
    for (const dst of chains) {
      if (src === dst || !(src.isPublic || dst.isPublic)) continue;
      for (const c of [src, dst]) {
        const n = requiredDvns(c).length;
        if (n < 2) {
          throw new WireError(
            `wire: refusing pathway ${src.name} -> ${dst.name}: ${c.name} requires ${n} DVN(s) and a pathway ` +
              `touching a public network needs at least 2 independent verifiers — add e.g. LayerZero Labs' DVN ` +
              `to chains[${c.name}].layerZero.extraDvns`,
          );
        }
      }
    }
  }

  const senders = new Map(chains.map((c) => [c.name, senderFor(signers, c)]));
  const plans = await Promise.all(
    chains.map(async (chain): Promise<WirePlanItem[]> => {
      const tx = senders.get(chain.name) as TxSender;
      const runner = tx.provider;
      const lz = chain.layerZero;
      const endpoint = new Contract(lz.endpointV2, endpointI, runner);
      const sendUln = new Contract(lz.sendUln302, sendUlnI, runner);
      const receiveUln = new Contract(lz.receiveUln302, receiveUlnI, runner);
      const items: WirePlanItem[] = [];
      const plan = (
        contract: string,
        to: Address,
        iface: Interface,
        fn: string,
        args: unknown[],
        reason: string,
        remotes: string[] = [],
      ) => {
        items.push({
          chain: chain.name,
          contract,
          call: `${fn}(${args.map(short).join(', ')})`,
          reason,
          remotes,
          to,
          data: iface.encodeFunctionData(fn, args) as Hex,
        });
      };

      // The OApps on this chain and, for each, the remote chains it talks to with its message types.
      const oapps: {
        name: string;
        address: Address;
        iface: Interface;
        remotes: ChainConfig[];
        types: number[];
      }[] = [];
      const vault = chain.xmargin.vault;
      oapps.push({
        name: 'vault',
        address: vault,
        iface: vaultI,
        remotes: chains.filter((c) => c !== chain && c.xmargin.engine !== undefined),
        types: [MSG_TYPE.LOCK, MSG_TYPE.HEARTBEAT],
      });
      const engine = chain.xmargin.engine;
      if (engine !== undefined) {
        oapps.push({
          name: 'engine',
          address: engine,
          iface: engineI,
          remotes: chains.filter((c) => c !== chain),
          types: [MSG_TYPE.RELEASE, MSG_TYPE.SEIZE, MSG_TYPE.MOVE],
        });
        const v = new Contract(vault, vaultI, runner);
        const e = new Contract(engine, engineI, runner);
        const [localEngine, localVault] = (await Promise.all([
          v.getFunction('localEngine')(),
          e.getFunction('localVault')(),
        ])) as [string, string];
        if (lower(localEngine) !== lower(engine)) {
          plan('vault', vault, vaultI, 'setLocalEngine', [engine], `localEngine is ${localEngine}`);
        }
        if (lower(localVault) !== lower(vault)) {
          plan('engine', engine, engineI, 'setLocalVault', [vault], `localVault is ${localVault}`);
        }
        if (chain.engine !== undefined) {
          const sources = collateralSourcesOf(chain.eid, chain.engine, chains);
          const have = (await Promise.all(
            sources.map((src) => e.getFunction('collateralSource')(src.srcEid, src.token)),
          )) as unknown as OnChainSource[];
          sources.forEach((src, k) => {
            const now = have[k];
            const from = `${src.symbol} from ${src.chain}(${src.srcEid})`;
            let reason: string | undefined;
            if (now?.enabled !== true) {
              reason = `engine does not accept ${from}: a new source, at ${src.creditCap === undefined ? 'the low default caps' : 'the caps of the file'}`;
            } else if (
              src.creditCap !== undefined &&
              (now.creditCap !== src.creditCap ||
                now.bridgeCapacity !== src.bridgeCapacity ||
                now.bridgeWindow !== src.bridgeWindow)
            ) {
              reason = `${from}: credit cap ${now.creditCap} -> ${src.creditCap}, bridged ${now.bridgeCapacity} -> ${src.bridgeCapacity} per ${src.bridgeWindow} s (the file's sourceCaps)`;
            }
            if (reason === undefined) return;
            plan(
              'engine',
              engine,
              engineI,
              'setCollateralSource',
              collateralSourceArgs(src),
              reason,
              src.srcEid === chain.eid ? [] : [src.chain],
            );
          });
        }
      }

      // The vault's tokens: a token the file lists that the vault does not accept yet gets the file's caps
      // (or the low default caps); an accepted token whose caps the file gives gets them when they differ.
      const vaultC = new Contract(vault, vaultI, runner);
      const assetConfigs = (await Promise.all(
        chain.tokens.map((t) => vaultC.getFunction('assetConfig')(t.address)),
      )) as unknown as OnChainAsset[];
      chain.tokens.forEach((t, k) => {
        const now = assetConfigs[k];
        const want = vaultAssetArgs({ token: t.address, decimals: t.decimals, ...vaultCapsOf(t) });
        const [, [, supplyCap, outflowCapacity, outflowWindow]] = want;
        let reason: string | undefined;
        if (now?.enabled !== true) {
          reason = `vault does not accept ${t.symbol} ${t.address}: a new asset, at ${t.caps === undefined ? 'the low default caps' : 'the caps of the file'}`;
        } else if (
          t.caps !== undefined &&
          (now.supplyCap !== supplyCap ||
            now.outflowCapacity !== outflowCapacity ||
            now.outflowWindow !== outflowWindow)
        ) {
          reason = `${t.symbol}: supply cap ${now.supplyCap} -> ${supplyCap}, outflow ${now.outflowCapacity} -> ${outflowCapacity} per ${outflowWindow} s (the file's caps)`;
        }
        if (reason !== undefined) plan('vault', vault, vaultI, 'setAssetConfig', want, reason);
      });

      // xmargin's DVN needs a fee config for each chain packets go to, or the send library's quote reverts.
      const dvn = new Contract(lz.dvn, dvnI, runner);
      const others = chains.filter((c) => c !== chain);
      const dstConfigs = (await Promise.all(
        others.map((c) => dvn.getFunction('dstConfig')(c.eid)),
      )) as unknown as [bigint, bigint, bigint][];
      const unpriced = others.filter((_, k) => BigInt(dstConfigs[k]?.[0] ?? 0n) === 0n);
      if (unpriced.length > 0) {
        const admin = await tx.address();
        if (!((await dvn.getFunction('hasRole')(DVN_ADMIN_ROLE, admin)) as boolean)) {
          throw new WireError(
            `wire: ${chain.name}: xmargin's DVN ${lz.dvn} has no fee config for ${unpriced.map((c) => c.name).join(', ')} ` +
              `and ${admin} is not its admin — run wire with the key that deployed the DVN (xmargin deploy), or ` +
              `have an admin call setDstConfig`,
          );
        }
        plan(
          'dvn',
          lz.dvn,
          dvnI,
          'setDstConfig',
          [unpriced.map((c) => [c.eid, DVN_DST_GAS, DVN_MULTIPLIER_BPS, 0n])],
          `xmargin's DVN has no fee config for ${unpriced.map((c) => `${c.name}(${c.eid})`).join(', ')}`,
          unpriced.map((c) => c.name),
        );
      }

      const mine = requiredDvns(chain);
      for (const oapp of oapps) {
        const c = new Contract(oapp.address, oapp.iface, runner);
        const missingOptions: [number, number, Hex][] = [];
        const optionRemotes = new Set<string>();
        for (const remote of oapp.remotes) {
          const rEid = remote.eid;
          const peerAddr = oapp.name === 'vault' ? remote.xmargin.engine : remote.xmargin.vault;
          if (peerAddr === undefined) continue;
          const wantPeer = lower(zeroPadValue(peerAddr, 32));
          const [peer, isDefaultSend, sendLib, recv, appSendUln, execCfg, appRecvUln, ...enforced] =
            (await Promise.all([
              c.getFunction('peers')(rEid),
              endpoint.getFunction('isDefaultSendLibrary')(oapp.address, rEid),
              endpoint.getFunction('getSendLibrary')(oapp.address, rEid),
              endpoint.getFunction('getReceiveLibrary')(oapp.address, rEid),
              sendUln.getFunction('getAppUlnConfig')(oapp.address, rEid),
              sendUln.getFunction('executorConfigs')(oapp.address, rEid),
              receiveUln.getFunction('getAppUlnConfig')(oapp.address, rEid),
              ...oapp.types.map((t) => c.getFunction('enforcedOptions')(rEid, t)),
            ])) as unknown as [
              string,
              boolean,
              string,
              [string, boolean],
              UlnTuple,
              [bigint, string],
              UlnTuple,
              ...string[],
            ];
          const to = `${remote.name}(${rEid})`;
          if (lower(peer) !== wantPeer) {
            plan(
              oapp.name,
              oapp.address,
              oapp.iface,
              'setPeer',
              [rEid, zeroPadValue(peerAddr, 32)],
              `peer for ${to} is ${peer}`,
              [remote.name],
            );
          }
          oapp.types.forEach((t, k) => {
            const have = enforced[k] ?? '0x';
            if (lower(have) !== lower(wantOptions)) {
              missingOptions.push([rEid, t, wantOptions]);
              optionRemotes.add(remote.name);
            }
          });
          if (isDefaultSend || lower(sendLib) !== lower(lz.sendUln302)) {
            plan(
              'endpoint',
              lz.endpointV2,
              endpointI,
              'setSendLibrary',
              [oapp.address, rEid, lz.sendUln302],
              `${oapp.name} send library for ${to} is ${isDefaultSend ? 'the default' : sendLib}`,
              [remote.name],
            );
          }
          if (recv[1] || lower(recv[0]) !== lower(lz.receiveUln302)) {
            plan(
              'endpoint',
              lz.endpointV2,
              endpointI,
              'setReceiveLibrary',
              [oapp.address, rEid, lz.receiveUln302, 0],
              `${oapp.name} receive library for ${to} is ${recv[1] ? 'the default' : recv[0]}`,
              [remote.name],
            );
          }
          // Send side: this chain's DVNs, this chain's confirmations; plus the executor.
          const sendParams: [number, number, string][] = [];
          const wantSend = appUln(chain.confirmations, mine);
          if (!sameUln(appSendUln, wantSend)) {
            sendParams.push([rEid, CONFIG_TYPE_ULN, coder.encode([ULN_TUPLE], [wantSend])]);
          }
          if (Number(execCfg[0]) !== MAX_MESSAGE_SIZE || lower(execCfg[1]) !== lower(lz.executor)) {
            sendParams.push([
              rEid,
              CONFIG_TYPE_EXECUTOR,
              coder.encode(['tuple(uint32,address)'], [[MAX_MESSAGE_SIZE, lz.executor]]),
            ]);
          }
          if (sendParams.length > 0) {
            plan(
              'endpoint',
              lz.endpointV2,
              endpointI,
              'setConfig',
              [oapp.address, lz.sendUln302, sendParams],
              `${oapp.name} send config for ${to} not set (want ${mine.length} DVN(s), ${chain.confirmations} conf., executor)`,
              [remote.name],
            );
          }
          // Receive side: this chain's DVNs, the source chain's confirmations.
          const wantRecv = appUln(remote.confirmations, mine);
          if (!sameUln(appRecvUln, wantRecv)) {
            plan(
              'endpoint',
              lz.endpointV2,
              endpointI,
              'setConfig',
              [
                oapp.address,
                lz.receiveUln302,
                [[rEid, CONFIG_TYPE_ULN, coder.encode([ULN_TUPLE], [wantRecv])]],
              ],
              `${oapp.name} receive config from ${to} not set (want ${mine.length} DVN(s), ${remote.confirmations} conf.)`,
              [remote.name],
            );
          }
        }
        if (missingOptions.length > 0) {
          plan(
            oapp.name,
            oapp.address,
            oapp.iface,
            'setEnforcedOptions',
            [missingOptions],
            `${missingOptions.length} enforced option(s) missing (lzReceive gas ${gas})`,
            [...optionRemotes],
          );
        }
      }
      return items;
    }),
  );
  const all = plans.flat();
  if (options.dryRun !== true && all.length > 0) {
    await Promise.all(
      chains.map(async (chain) => {
        const tx = senders.get(chain.name) as TxSender;
        const mineItems = all.filter((i) => i.chain === chain.name);
        for (const item of mineItems) await tx.send(`${item.contract}.${item.call}`, item.to, item.data);
        await tx.flush();
      }),
    );
  }
  options.log?.(
    `wire: ${all.length} transaction(s)${options.dryRun === true ? ' planned (dry run)' : ' sent'}`,
  );
  return all;
}

type UlnTuple = [bigint, bigint, bigint, bigint, string[], string[]];

/** An OApp-level UlnConfig: explicit confirmations and required DVNs, no optional DVNs (NIL). */
function appUln(
  confirmations: number,
  required: Address[],
): [bigint, number, number, number, Address[], Address[]] {
  return [BigInt(confirmations), required.length, NIL_DVN_COUNT, 0, required, []];
}

function sameUln(have: UlnTuple, want: ReturnType<typeof appUln>): boolean {
  return (
    BigInt(have[0]) === want[0] &&
    Number(have[1]) === want[1] &&
    Number(have[2]) === want[2] &&
    Number(have[3]) === want[3] &&
    sameList([...have[4]], want[4]) &&
    sameList([...have[5]], want[5])
  );
}

function short(v: unknown): string {
  if (typeof v === 'string') return v.length > 20 ? `${v.slice(0, 10)}…` : v;
  if (Array.isArray(v)) return `[${v.length}]`;
  return String(v);
}
