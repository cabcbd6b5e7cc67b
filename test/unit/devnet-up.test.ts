// `xmargin devnet up` compiles before it boots: the progress line comes first, a failing build stops
// it before any chain starts, and the artifact list covers every contract the devnet code deploys.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../relayer/chain/artifacts.ts';
import { devnetUp } from '../../relayer/cli/devnet.ts';
import { DEVNET_ARTIFACTS } from '../../relayer/devnet/index.ts';

describe('devnet up: compile first', () => {
  it('prints the compile step, builds, and stops on a build failure before booting anything', async () => {
    const lines: string[] = [];
    let built = 0;
    await expect(
      devnetUp({
        print: (line) => lines.push(line),
        build: async () => {
          built++;
          throw new Error('forge build failed: Compiler run failed');
        },
        manifestPath: null,
      }),
    ).rejects.toThrow('forge build failed');
    expect(built).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^compiling the contracts \(forge build/)]);
  });

  it('asks forge for every artifact the devnet and deploy code read', () => {
    const read = new Set<string>();
    for (const dir of ['relayer/devnet', 'relayer/deploy']) {
      for (const file of readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.ts'))) {
        const text = readFileSync(path.join(ROOT, dir, file), 'utf8');
        for (const m of text.matchAll(/readArtifact\('([A-Za-z0-9]+)'\)/g)) read.add(m[1] as string);
      }
    }
    expect(read.size).toBeGreaterThan(5);
    expect([...read].filter((name) => !(DEVNET_ARTIFACTS as readonly string[]).includes(name))).toEqual([]);
  });
});
