// Two tiers with their own timeouts: unit tests are pure and fast; e2e tests start anvil chains and
// may have to compile the contracts first (solc-js, ~25 s cold). A third, the fault suite, is opt-in.
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

// The fault suite (test/faults: a devnet, real node processes, kill -9, a sybil peer) takes a few
// minutes of both cores, so a plain `vitest run` (npm test, CI) leaves it out: `npm run test:faults`
// runs it, and so does naming one of its files (`npm run test:unit -- test/faults/nodes.test.ts`).
const withFaults = process.env.XMARGIN_FAULTS === '1' || process.argv.some((a) => a.includes('test/faults'));

const faults: TestProjectInlineConfiguration = {
  extends: true,
  test: {
    // One file at a time: each runs a devnet and three nodes on the two shared cores.
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
};

export default defineConfig({
  test: {
    // Forks rather than threads: e2e tests spawn and kill child processes, which is cleaner per process.
    pool: 'forks',
    // The machine has 2 cores shared with other engineers, and forge/anvil want one of them.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 10_000,
          hookTimeout: 10_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          // beforeAll may run a cold `forge build` and start anvil chains.
          hookTimeout: 180_000,
        },
      },
      ...(withFaults ? [faults] : []),
    ],
  },
});
