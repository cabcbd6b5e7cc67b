// Out-of-gas retries of the executor. A packet's lzReceive option is the gas its sender paid for; when
// the receiver needs more (a heavier message than the sender's options planned for), the delivery
// transaction runs out of gas and reverts as a whole (EndpointV2 does not catch the receiver's
// revert), so the packet stays verified and deliverable. The executor then retries with a higher gas
// limit out of its own pocket, doubling per out-of-gas failure up to a ceiling: an ordinary revert
// (a bug, a paused engine) is not helped by gas and keeps the limit it had.

/**
 * A delivery's first gas limit: the option gas reaches the receiver whole. EndpointV2 calls the
 * receiver with what it has left, of which a call passes on 63/64, so the transaction carries the
 * option gas, its 64th share, and `overhead` for everything around the call (the 21k base, the
 * calldata, the endpoint's checks and event: 56k for a LOCK on the devnet's stack).
 */
export function deliveryGasLimit(optionGas: bigint, overhead: bigint): bigint {
  return optionGas + optionGas / 63n + overhead;
}

/** A revert counts as out of gas when it burnt at least this share of the limit (31/32): the caller
 *  frame keeps 1/64 of the gas at the call into the receiver and spends a little bubbling the revert. */
const BURNT_NUM = 31n;
const BURNT_DEN = 32n;

interface ReceiptLike {
  status?: number | null;
  gasUsed?: bigint;
}

/** The mined receipt carried by a failed send (ethers CALL_EXCEPTION, possibly wrapped as `cause`). */
function failedReceipt(err: unknown): ReceiptLike | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
    const r = (e as { receipt?: ReceiptLike }).receipt;
    if (r !== undefined && r !== null && typeof r.gasUsed === 'bigint') return r;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether `err` is a mined delivery that reverted for lack of gas under `gasLimit`. */
export function ranOutOfGas(err: unknown, gasLimit: bigint): boolean {
  const r = failedReceipt(err);
  if (r === undefined || r.status === 1 || r.gasUsed === undefined) return false;
  return r.gasUsed * BURNT_DEN >= gasLimit * BURNT_NUM;
}

/** The next attempt's limit after an out-of-gas failure at `gasLimit`; undefined at the ceiling. */
export function raisedGasLimit(gasLimit: bigint, ceiling: bigint): bigint | undefined {
  if (gasLimit >= ceiling) return undefined;
  const next = gasLimit * 2n;
  return next > ceiling ? ceiling : next;
}
