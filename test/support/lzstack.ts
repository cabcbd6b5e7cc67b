// Deploys the real LayerZero v2 stack (EndpointV2, ULN302 send/receive, PriceFeed, DVN, Executor,
// their fee libs, ReceiveUln302View) from the unmodified @layerzerolabs/lz-evm-sdk-v2 artifacts on
// one anvil chain, plus the precompiled OmniCounter example OApp, wired per
// ../shared/layerzero-local-stack.md §1–2 (ULN defaults before default libraries; eids >= 30000).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Contract, ContractFactory, type InterfaceAbi, type Signer, zeroPadValue } from 'ethers';
import type { Address, ChainConfig } from '../../relayer/config/types.ts';
import { ROOT } from './artifacts.ts';

const ARTIFACTS = path.join(ROOT, 'node_modules/@layerzerolabs/lz-evm-sdk-v2/artifacts/contracts');

export function lzArtifact(rel: string): { abi: InterfaceAbi; bytecode: string } {
  const json = JSON.parse(readFileSync(path.join(ARTIFACTS, rel), 'utf8')) as {
    abi: InterfaceAbi;
    bytecode: string;
  };
  return { abi: json.abi, bytecode: json.bytecode };
}

async function deploy(signer: Signer, rel: string, ...args: unknown[]): Promise<Contract> {
  const { abi, bytecode } = lzArtifact(rel);
  const c = await new ContractFactory(abi, bytecode, signer).deploy(...args);
  return (await c.waitForDeployment()) as Contract;
}

async function send(c: Contract, fn: string, ...args: unknown[]): Promise<void> {
  const tx = await c.getFunction(fn)(...args);
  await tx.wait();
}

export interface LzStack {
  contracts: ChainConfig['layerZero'];
  counter: Contract;
  dvn: Contract;
}

/** Deploys and wires one chain for the pathway to `remoteEid`. */
export async function deployLzStack(
  deployer: Signer,
  eid: number,
  remoteEid: number,
  dvnSigners: Address[],
  quorum: number,
  confirmations: number,
): Promise<LzStack> {
  const owner = await deployer.getAddress();
  const endpoint = await deploy(deployer, 'EndpointV2.sol/EndpointV2.json', eid, owner);
  const ep = await endpoint.getAddress();
  const sendUln = await deploy(
    deployer,
    'uln/uln302/SendUln302.sol/SendUln302.json',
    ep,
    10n ** 12n,
    100_000n,
  );
  const receiveUln = await deploy(deployer, 'uln/uln302/ReceiveUln302.sol/ReceiveUln302.json', ep);
  const libs = [await sendUln.getAddress(), await receiveUln.getAddress()];
  const priceFeed = await deploy(deployer, 'PriceFeed.sol/PriceFeed.json');
  await send(priceFeed, 'initialize', owner);
  const pf = await priceFeed.getAddress();
  // The deployer is an admin too, to set the fee lib and dst config; the attestors submit execute.
  const dvn = await deploy(
    deployer,
    'uln/dvn/DVN.sol/DVN.json',
    eid,
    eid % 30000,
    libs,
    pf,
    dvnSigners,
    quorum,
    [owner, ...dvnSigners],
  );
  const dvnFeeLib = await deploy(deployer, 'uln/dvn/DVNFeeLib.sol/DVNFeeLib.json', eid, 10n ** 18n);
  const executor = await deploy(deployer, 'Executor.sol/Executor.json');
  await send(executor, 'initialize', ep, '0x0000000000000000000000000000000000000000', libs, pf, owner, [
    owner,
  ]);
  const executorFeeLib = await deploy(deployer, 'ExecutorFeeLib.sol/ExecutorFeeLib.json', eid, 10n ** 18n);
  const view = await deploy(deployer, 'uln/uln302/ReceiveUln302View.sol/ReceiveUln302View.json');
  await send(view, 'initialize', ep, libs[1]);

  const dvnAddr = (await dvn.getAddress()) as Address;
  const uln = [confirmations, 1, 0, 0, [dvnAddr], []];
  await send(endpoint, 'registerLibrary', libs[0]);
  await send(endpoint, 'registerLibrary', libs[1]);
  await send(dvn, 'setWorkerFeeLib', await dvnFeeLib.getAddress());
  await send(executor, 'setWorkerFeeLib', await executorFeeLib.getAddress());
  await send(sendUln, 'setDefaultUlnConfigs', [[remoteEid, uln]]);
  await send(receiveUln, 'setDefaultUlnConfigs', [[remoteEid, uln]]);
  await send(sendUln, 'setDefaultExecutorConfigs', [[remoteEid, [10_000, await executor.getAddress()]]]);
  await send(endpoint, 'setDefaultSendLibrary', remoteEid, libs[0]);
  await send(endpoint, 'setDefaultReceiveLibrary', remoteEid, libs[1], 0);
  await send(dvn, 'setDstConfig', [[remoteEid, 5000, 10_000, 0]]);
  await send(executor, 'setDstConfig', [[remoteEid, 5000, 5000, 10_000, 0, 10n ** 18n]]);

  const counter = await deploy(deployer, 'oapp/examples/OmniCounter.sol/OmniCounter.json', ep, owner);
  return {
    counter,
    dvn,
    contracts: {
      endpointV2: ep as Address,
      sendUln302: libs[0] as Address,
      receiveUln302: libs[1] as Address,
      dvn: dvnAddr,
      executor: (await executor.getAddress()) as Address,
      priceFeed: pf as Address,
      dvnFeeLib: (await dvnFeeLib.getAddress()) as Address,
      executorFeeLib: (await executorFeeLib.getAddress()) as Address,
      receiveUln302View: (await view.getAddress()) as Address,
    },
  };
}

/** OmniCounter peers both ways (the receiver must know the sender before the first commit). */
export async function connectCounters(a: LzStack, eidA: number, b: LzStack, eidB: number): Promise<void> {
  await send(a.counter, 'setPeer', eidB, zeroPadValue(await b.counter.getAddress(), 32));
  await send(b.counter, 'setPeer', eidA, zeroPadValue(await a.counter.getAddress(), 32));
}
