// Gas limits from estimates, with head-room for what changes between the estimate and the block.
//
// An `eth_estimateGas` runs against the latest block; the transaction runs in a later one, where
// time-dependent paths can cost more. PerpMarket's borrow accrual is the case in point: an estimate in
// the same second as the market's last accrual skips the `lastAccrual` write (~2.9k gas), the mined
// transaction in the next second does not, and an exact limit runs out of gas. ethers sets the limit
// to the bare estimate, so every signer of ours that lets ethers estimate goes through this.

import { type Provider, type TransactionRequest, Wallet } from 'ethers';

/** A limit 30 % above the estimate: covers a cold slot or an accrual write, far below any block limit. */
export function withGasHeadroom(estimate: bigint): bigint {
  return (estimate * 13n) / 10n;
}

/** An ethers Wallet whose estimated gas limits carry `withGasHeadroom`. */
export class HeadroomWallet extends Wallet {
  override async estimateGas(tx: TransactionRequest): Promise<bigint> {
    return withGasHeadroom(await super.estimateGas(tx));
  }

  override connect(provider: Provider | null): HeadroomWallet {
    return new HeadroomWallet(this.signingKey, provider);
  }
}
