// The rebalancer's section of a node config: validated with errors that name the field and the fix,
// and turned into the policy the decision uses.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNodeConfig } from '../../../relayer/config/load.ts';
import { rebalancerOptions } from '../../../relayer/rebalance/index.ts';

const WAD = 10n ** 18n;

function load(rebalance: unknown) {
  const dir = mkdtempSync(path.join(tmpdir(), 'xmargin-rb-config-'));
  try {
    const file = path.join(dir, 'node.json');
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: 'data',
        listen: ['/ip4/127.0.0.1/tcp/0'],
        bootstrap: [],
        evmKeyFile: 'k',
        p2pKeyFile: 'p',
        roles: ['attestor', 'rebalancer'],
        chains: ['devnet-b'],
        networksFile: 'manifest.json',
        apiPort: 0,
        rebalance,
      }),
    );
    return loadNodeConfig(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('rebalance config', () => {
  it('becomes the decision policy and the claim deadline', () => {
    const config = load({
      triggerHealth: '1.3',
      targetHealth: '1.75',
      maxBreachProbability: 0.1,
      deadlineMs: 4000,
    });
    expect(config.roles).toContain('rebalancer');
    expect(rebalancerOptions(config.rebalance)).toEqual({
      policy: {
        triggerHealth: (13n * WAD) / 10n,
        targetHealth: (175n * WAD) / 100n,
        maxBreachProbability: 0.1,
      },
      deadlineMs: 4000,
    });
    expect(rebalancerOptions()).toEqual({ policy: {} });
  });

  it('names a bad field and how to fix it', () => {
    expect(() => load({ targetHealth: 1.6 })).toThrow(/rebalance\.targetHealth: .*e\.g\. "1\.6"/);
    expect(() => load({ triggerHealth: '0.9' })).toThrow(/rebalance\.triggerHealth/);
    expect(() => load({ maxBreachProbability: 2 })).toThrow(/rebalance\.maxBreachProbability/);
    expect(() => load({ speed: 'fast' })).toThrow(/rebalance.*speed/);
  });
});
