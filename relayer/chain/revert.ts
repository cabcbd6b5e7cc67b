// Turns a revert into one readable line: the custom error's name and arguments, decoded with the ABIs
// of xmargin's contracts and LayerZero's endpoint, plus a hint of what to do about it. ethers only says
// "unknown custom error" and dumps the transaction, which tells an operator nothing.

import { type ErrorDescription, Interface } from 'ethers';
import { readArtifact, readLzArtifact } from './artifacts.ts';

/** What to do about the errors a trader or operator meets most. */
const HINTS: Record<string, string> = {
  BelowInitialMargin:
    'the account would fall below initial margin: withdraw or trade less, or add collateral',
  InsufficientCredit: 'the engine holds less of that collateral for the account than asked',
  HealthyAccount: 'the subaccount is healthy: it cannot be liquidated',
  StalePrice: 'an oracle is stale: wait for a fresh price',
  PriceDeviation: 'the two price sources disagree: wait until they converge',
  InvalidPrice: 'an oracle returned zero or a negative price',
  LZ_InsufficientFee: 'the native value does not cover the LayerZero fee: quote it again',
  AssetNotEnabled: 'the vault does not accept this token',
  SupplyCapExceeded: "the vault's supply cap for this token is reached",
  DepositsArePaused: 'the guardian paused deposits on this vault',
  SlippageExceeded: 'the oracle price moved beyond the acceptable price',
};

let interfaces: Interface[] | undefined;

function allInterfaces(): Interface[] {
  if (interfaces === undefined) {
    interfaces = [];
    for (const name of [
      'MarginEngine',
      'CollateralVault',
      'PerpMarket',
      'ChainlinkPriceAdapter',
      'MockERC20',
    ]) {
      try {
        interfaces.push(new Interface(readArtifact(name).abi));
      } catch {
        // artifact not built: decode with what is there
      }
    }
    interfaces.push(new Interface(readLzArtifact('EndpointV2').abi));
  }
  return interfaces;
}

/** The revert data hidden somewhere in an ethers error, if any. */
export function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const walk = (e: unknown): string | undefined => {
    if (typeof e !== 'object' || e === null || seen.has(e)) return undefined;
    seen.add(e);
    const data = (e as { data?: unknown }).data;
    if (typeof data === 'string' && /^0x[0-9a-fA-F]{8}/.test(data)) return data;
    for (const key of ['error', 'info', 'cause']) {
      const found = walk((e as Record<string, unknown>)[key]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(error);
}

export function decodeRevert(data: string): ErrorDescription | undefined {
  for (const iface of allInterfaces()) {
    try {
      const parsed = iface.parseError(data);
      if (parsed !== null) return parsed;
    } catch {
      // not this contract's error
    }
  }
  return undefined;
}

/** "the chain refused: BelowInitialMargin(equity=…, initialRequirement=…) — hint", or undefined. */
export function describeRevert(error: unknown): string | undefined {
  const data = revertData(error);
  if (data === undefined) return undefined;
  const parsed = decodeRevert(data);
  if (parsed === undefined) return `the chain refused the transaction (revert data ${data.slice(0, 10)})`;
  const args = parsed.fragment.inputs
    .map((input, i) => `${input.name || i}=${String(parsed.args[i])}`)
    .join(', ');
  const hint = HINTS[parsed.name];
  return `the chain refused: ${parsed.name}(${args})${hint === undefined ? '' : ` — ${hint}`}`;
}
