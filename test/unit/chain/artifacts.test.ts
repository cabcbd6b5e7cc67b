// ensureArtifacts compiles contracts/ alone unless asked for the forge test tree (relayer/chain/
// artifacts.ts): every contract a node or the devnet deploys must therefore be declared there, or its
// artifact would be missing on a fresh clone, or stale after an edit.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../relayer/chain/artifacts.ts';
import { DEVNET_ARTIFACTS } from '../../../relayer/devnet/index.ts';

/** Names of the contracts declared in the .sol files under `dir`, recursively. */
function declaredContracts(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    if (!entry.endsWith('.sol')) continue;
    const source = readFileSync(path.join(dir, entry), 'utf8');
    for (const match of source.matchAll(/^\s*(?:abstract\s+)?contract\s+(\w+)/gm))
      names.add(match[1] as string);
  }
  return names;
}

describe('the contracts a default build compiles', () => {
  const underContracts = declaredContracts(path.join(ROOT, 'contracts'));

  it('declare every contract the devnet deploys, and the engine module its ABI merges', () => {
    const missing = [...DEVNET_ARTIFACTS, 'MarginEngineAdmin'].filter((name) => !underContracts.has(name));
    expect(missing).toEqual([]);
  });

  it('leave out the forge test tree, whose harness the codec parity test builds on request', () => {
    expect(underContracts.has('MsgCodecHarness')).toBe(false);
    expect(declaredContracts(path.join(ROOT, 'test', 'forge')).has('MsgCodecHarness')).toBe(true);
  });
});
