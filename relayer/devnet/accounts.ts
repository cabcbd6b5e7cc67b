// The devnet's keys: anvil's well-known test accounts (mnemonic "test test … junk", m/44'/60'/0'/0/i),
// funded with 10,000 ETH on every anvil. Public knowledge — never use them anywhere else.

import { HDNodeWallet } from 'ethers';
import type { Address, DevAccount, Hex } from '../config/types.ts';

export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

/** Roles in order: deployer (index 0), attestors (1..n), trader, liquidator, lp, then spares. */
export function devAccounts(attestors: number, total: number): DevAccount[] {
  const root = HDNodeWallet.fromPhrase(ANVIL_MNEMONIC, undefined, "m/44'/60'/0'/0");
  const roles: DevAccount['role'][] = [
    'deployer',
    ...Array.from({ length: attestors }, (): DevAccount['role'] => 'attestor'),
    'trader',
    'liquidator',
    'lp',
  ];
  while (roles.length < total) roles.push('spare');
  return roles.map((role, i) => {
    const w = root.deriveChild(i);
    return { role, address: w.address as Address, privateKey: w.privateKey as Hex };
  });
}

/** How many anvil accounts a devnet with `attestors` attestors needs (anvil's default is 10). */
export function accountCount(attestors: number): number {
  return Math.max(10, attestors + 5);
}
