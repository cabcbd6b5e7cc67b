// Reads the executor's lzReceive gas/value out of a packet's type-3 options
// (`0x0003 ‖ {workerId uint8 ‖ size uint16 ‖ optionType uint8 ‖ data}…`, lz-evm-messagelib-v2
// ExecutorOptions). Several lzReceive options add up, as ExecutorOptions.decode does on chain.

import { getBytes } from 'ethers';
import type { Hex } from '../relayer/config/types.ts';

export const OPTIONS_TYPE_3 = 3;
export const WORKER_ID = { executor: 1, dvn: 2 } as const;
export const EXECUTOR_OPTION = { lzReceive: 1, nativeDrop: 2, lzCompose: 3, ordered: 4 } as const;

export class OptionsDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionsDecodeError';
  }
}

export interface LzReceiveOption {
  gas: bigint;
  value: bigint;
}

/** Sum of the lzReceive options; throws when there is none (the fee lib would not have quoted it). */
export function lzReceiveOption(options: Hex): LzReceiveOption {
  const bytes = getBytes(options);
  if (bytes.length < 2 || ((bytes[0] as number) << 8) + (bytes[1] as number) !== OPTIONS_TYPE_3) {
    throw new OptionsDecodeError(`options are not type 3: ${options.slice(0, 10)}`);
  }
  let gas = 0n;
  let value = 0n;
  let found = false;
  let i = 2;
  while (i < bytes.length) {
    if (i + 4 > bytes.length) throw new OptionsDecodeError(`truncated option at byte ${i}`);
    const worker = bytes[i] as number;
    const size = ((bytes[i + 1] as number) << 8) + (bytes[i + 2] as number);
    const start = i + 3;
    const end = start + size;
    if (size < 1 || end > bytes.length) throw new OptionsDecodeError(`bad option size ${size} at byte ${i}`);
    const type = bytes[start] as number;
    if (worker === WORKER_ID.executor && type === EXECUTOR_OPTION.lzReceive) {
      const data = bytes.subarray(start + 1, end);
      if (data.length !== 16 && data.length !== 32) {
        throw new OptionsDecodeError(`lzReceive option of ${data.length} bytes (want 16 or 32)`);
      }
      gas += toBigInt(data.subarray(0, 16));
      if (data.length === 32) value += toBigInt(data.subarray(16, 32));
      found = true;
    }
    i = end;
  }
  if (!found) throw new OptionsDecodeError('no lzReceive option');
  return { gas, value };
}

function toBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Builds `0x0003 ‖ lzReceive(gas[, value])` (tests, and OApps that send through this node's tools). */
export function encodeLzReceiveOption(gas: bigint, value = 0n): Hex {
  const hex = (n: bigint) => n.toString(16).padStart(32, '0');
  const data = hex(gas) + (value > 0n ? hex(value) : '');
  const size = (1 + data.length / 2).toString(16).padStart(4, '0');
  return `0x0003${'01'}${size}${'01'}${data}` as Hex;
}
