// Deploys the real LayerZero v2 stack on one local chain from the lz-evm-sdk-v2 artifacts, unmodified,
// and configures it, following ../shared/layerzero-local-stack.md (§1 deploy order and constructor
// arguments, §2 configuration order). Everything is submitted in two batches: the deployments and the
// calls that only touch one contract, then the defaults that need the libraries registered.

import { Interface } from 'ethers';
import { readLzArtifact } from '../chain/artifacts.ts';
import type { TxSender } from '../chain/tx.ts';
import type { Address, LayerZeroContracts } from '../config/types.ts';
import { dvnVid } from '../deploy/network.ts';
import { DVN_DST_GAS } from '../deploy/wire.ts';

export interface LayerZeroStackOptions {
  eid: number;
  /** The other chains' eids: every default config, dst config and price is set for each. */
  remoteEids: number[];
  /** DVN multisig signers (the attestor keys) and quorum. */
  signers: Address[];
  quorum: number;
  /** Accounts given ADMIN_ROLE on the DVN and the Executor (whoever submits DVN.execute / execute302). */
  admins: Address[];
  /** Default block confirmations in the ULN configs. */
  confirmations: number;
  /** Prices in the PriceFeed (default: 1:1 native tokens, 1 gwei, 16 gas/byte, native at $2000). */
  prices?: boolean;
}

/** Settings the recipe measured with (TestHelperOz5's values). */
const TREASURY_GAS_LIMIT = 1_000_000_000_000n;
const TREASURY_FEE_CAP = 100_000n;
const NATIVE_DECIMALS_RATE = 10n ** 18n;
const MAX_MESSAGE_SIZE = 10_000;
const EXECUTOR_LZ_RECEIVE_BASE_GAS = 100_000n;
const EXECUTOR_LZ_COMPOSE_BASE_GAS = 100_000n;
const EXECUTOR_NATIVE_CAP = 10n ** 18n;
const PRICE_RATIO_DENOMINATOR = 10n ** 20n;

/** Strictly ascending, as ULN302 requires (`LZ_ULN_Unsorted`). */
export function sortAddresses(addresses: readonly Address[]): Address[] {
  return [...addresses].sort((a, b) => {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** A UlnConfig tuple for ULN302 (no optional DVNs). */
export function ulnConfig(confirmations: number, required: readonly Address[]) {
  const sorted = sortAddresses(required);
  return [BigInt(confirmations), sorted.length, 0, 0, sorted, []] as const;
}

export async function deployLayerZero(tx: TxSender, o: LayerZeroStackOptions): Promise<LayerZeroContracts> {
  const deployer = await tx.address();
  const a = {
    EndpointV2: readLzArtifact('EndpointV2'),
    SendUln302: readLzArtifact('SendUln302'),
    ReceiveUln302: readLzArtifact('ReceiveUln302'),
    PriceFeed: readLzArtifact('PriceFeed'),
    DVN: readLzArtifact('DVN'),
    DVNFeeLib: readLzArtifact('DVNFeeLib'),
    Executor: readLzArtifact('Executor'),
    ExecutorFeeLib: readLzArtifact('ExecutorFeeLib'),
    ReceiveUln302View: readLzArtifact('ReceiveUln302View'),
    EndpointV2View: readLzArtifact('EndpointV2View'),
  };
  const i = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, new Interface(v.abi)])) as Record<
    keyof typeof a,
    Interface
  >;

  // ---- batch 1: deploy in dependency order (§1), then the calls that need only what exists by then.
  const endpointV2 = await tx.deploy('EndpointV2', a.EndpointV2, [o.eid, deployer]);
  const sendUln302 = await tx.deploy('SendUln302', a.SendUln302, [
    endpointV2,
    TREASURY_GAS_LIMIT,
    TREASURY_FEE_CAP,
  ]);
  const receiveUln302 = await tx.deploy('ReceiveUln302', a.ReceiveUln302, [endpointV2]);
  const priceFeed = await tx.deploy('PriceFeed', a.PriceFeed);
  await tx.call('PriceFeed.initialize', priceFeed, i.PriceFeed, 'initialize', [deployer]);
  const dvn = await tx.deploy('DVN', a.DVN, [
    o.eid,
    dvnVid(o.eid),
    [sendUln302, receiveUln302],
    priceFeed,
    o.signers,
    o.quorum,
    o.admins,
  ]);
  const dvnFeeLib = await tx.deploy('DVNFeeLib', a.DVNFeeLib, [o.eid, NATIVE_DECIMALS_RATE]);
  const executor = await tx.deploy('Executor', a.Executor);
  await tx.call('Executor.initialize', executor, i.Executor, 'initialize', [
    endpointV2,
    '0x0000000000000000000000000000000000000000',
    [sendUln302, receiveUln302],
    priceFeed,
    deployer,
    o.admins,
  ]);
  const executorFeeLib = await tx.deploy('ExecutorFeeLib', a.ExecutorFeeLib, [o.eid, NATIVE_DECIMALS_RATE]);
  const receiveUln302View = await tx.deploy('ReceiveUln302View', a.ReceiveUln302View);
  await tx.call('ReceiveUln302View.initialize', receiveUln302View, i.ReceiveUln302View, 'initialize', [
    endpointV2,
    receiveUln302,
  ]);
  const endpointV2View = await tx.deploy('EndpointV2View', a.EndpointV2View);
  await tx.call('EndpointV2View.initialize', endpointV2View, i.EndpointV2View, 'initialize', [endpointV2]);

  // §2 steps 1-4, 6-8 (each only needs its own contract and the ones deployed above).
  await tx.call('registerLibrary(SendUln302)', endpointV2, i.EndpointV2, 'registerLibrary', [sendUln302]);
  await tx.call('registerLibrary(ReceiveUln302)', endpointV2, i.EndpointV2, 'registerLibrary', [
    receiveUln302,
  ]);
  await tx.call('DVN.setWorkerFeeLib', dvn, i.DVN, 'setWorkerFeeLib', [dvnFeeLib]);
  await tx.call('Executor.setWorkerFeeLib', executor, i.Executor, 'setWorkerFeeLib', [executorFeeLib]);
  const defaults = o.remoteEids.map((eid) => [eid, ulnConfig(o.confirmations, [dvn])] as const);
  if (o.remoteEids.length > 0) {
    await tx.call('SendUln302.setDefaultUlnConfigs', sendUln302, i.SendUln302, 'setDefaultUlnConfigs', [
      defaults,
    ]);
    await tx.call(
      'ReceiveUln302.setDefaultUlnConfigs',
      receiveUln302,
      i.ReceiveUln302,
      'setDefaultUlnConfigs',
      [defaults],
    );
    await tx.call(
      'SendUln302.setDefaultExecutorConfigs',
      sendUln302,
      i.SendUln302,
      'setDefaultExecutorConfigs',
      [o.remoteEids.map((eid) => [eid, [MAX_MESSAGE_SIZE, executor]])],
    );
    await tx.call('DVN.setDstConfig', dvn, i.DVN, 'setDstConfig', [
      o.remoteEids.map((eid) => [eid, DVN_DST_GAS, 10_000, 0n]),
    ]);
    await tx.call('Executor.setDstConfig', executor, i.Executor, 'setDstConfig', [
      o.remoteEids.map((eid) => [
        eid,
        EXECUTOR_LZ_RECEIVE_BASE_GAS,
        EXECUTOR_LZ_COMPOSE_BASE_GAS,
        10_000,
        0n,
        EXECUTOR_NATIVE_CAP,
      ]),
    ]);
    if (o.prices ?? true) {
      // Prices are keyed by eid % 30000 (§2 step 8).
      await tx.call('PriceFeed.setPrice', priceFeed, i.PriceFeed, 'setPrice', [
        o.remoteEids.map((eid) => [eid % 30_000, [PRICE_RATIO_DENOMINATOR, 1_000_000_000n, 16]]),
      ]);
      await tx.call('PriceFeed.setNativeTokenPriceUSD', priceFeed, i.PriceFeed, 'setNativeTokenPriceUSD', [
        2000n * 10n ** 18n,
      ]);
    }
    // §2 step 5: default libraries, after the ULN defaults (isSupportedEid) in the same ordered batch.
    for (const eid of o.remoteEids) {
      await tx.call(`setDefaultSendLibrary(${eid})`, endpointV2, i.EndpointV2, 'setDefaultSendLibrary', [
        eid,
        sendUln302,
      ]);
      await tx.call(
        `setDefaultReceiveLibrary(${eid})`,
        endpointV2,
        i.EndpointV2,
        'setDefaultReceiveLibrary',
        [eid, receiveUln302, 0],
      );
    }
  }
  await tx.flush();
  return {
    endpointV2,
    sendUln302,
    receiveUln302,
    dvn,
    executor,
    priceFeed,
    dvnFeeLib,
    executorFeeLib,
    receiveUln302View,
    endpointV2View,
  };
}
