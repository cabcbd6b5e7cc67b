// A NodeStatus for API and dashboard tests: one trader sub-account with collateral on three chains
// and credit on two engines, whose health follows a settable price factor (a "price move" lowers
// every engine's health in proportion), so a test can watch the page react.

import type { AccountStatus, NodeStatus } from '../../relayer/api/types.ts';

export const TRADER = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';

export interface FakeStatus {
  status(): NodeStatus;
  /** Health of the first engine; the second keeps its ratio to it. */
  setHealth(health: number): void;
}

export function fakeStatus(startHealth = 1.8): FakeStatus {
  let health = startHealth;
  const startedAt = Date.now();
  const engines = (): AccountStatus['engines'] => [
    {
      engineEid: 40102,
      chain: 'devnet-b',
      health,
      equity: (4_500 * health).toFixed(2),
      collateralValue: '9000.00',
      maintenance: '4500.00',
      initial: '9000.00',
      // Distance to health 1, as a share of the current collateral value.
      liquidationDistancePct: Number((((health - 1) / health) * 100).toFixed(1)),
    },
    {
      engineEid: 40103,
      chain: 'devnet-c',
      health: null,
      equity: '2500',
      collateralValue: '2500',
      maintenance: 0,
      initial: 0,
    },
  ];
  return {
    setHealth(next) {
      health = next;
    },
    status() {
      return {
        node: {
          version: '0.1.0',
          signer: '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc',
          peerId: '12D3KooWGzh5jXLgq3Yw1DsQmgy3jkSvxAvmh1tS8ZJH3Y2rEZzW',
          roles: ['attestor', 'executor'],
          uptimeS: Math.round((Date.now() - startedAt) / 1000),
        },
        peers: [
          {
            peerId: '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK',
            signer: '0x90f79bf6eb2c4f870365e785982e1f101e93b906',
            score: 12.5,
            addrs: ['/ip4/127.0.0.1/tcp/40211/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'],
          },
        ],
        chains: [
          { name: 'devnet-a', eid: 40101, head: 120, lag: 0, rpcOk: true },
          { name: 'devnet-b', eid: 40102, head: 118, lag: 1, rpcOk: true },
          { name: 'devnet-c', eid: 40103, head: 97, lag: 4, rpcOk: false, lastError: 'connect ECONNREFUSED' },
        ],
        accounts: [
          {
            account: TRADER,
            subaccount: 0,
            engines: engines(),
            collateral: [
              {
                chain: 'devnet-a',
                token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
                symbol: 'WETH',
                amount: '2.5',
              },
              {
                chain: 'devnet-b',
                token: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
                symbol: 'USDC',
                amount: '3000',
              },
              {
                chain: 'devnet-c',
                token: '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0',
                symbol: 'USDC',
                amount: '2500',
              },
            ],
            total: {
              collateralValue: '11500',
              equity: (4_500 * health + 2_500).toFixed(2),
              maintenance: '4500',
              initial: '9000',
              freeCollateral: (Math.max(0, 4_500 * health - 9_000) + 2_500).toFixed(2),
              liquidationDistances: [
                {
                  asset: 'WETH',
                  movePct: -Number((((health - 1) / health) * 100).toFixed(1)),
                  chain: 'devnet-b',
                  engineEid: 40102,
                },
              ],
            },
          },
        ],
        packets: {
          inFlight: 2,
          verified: 14,
          delivered: 13,
          failed: [{ guid: `0x${'ab'.repeat(32)}`, reason: 'lzReceive reverted: InsufficientCredit' }],
          open: [
            {
              guid: `0x${'ab'.repeat(32)}`,
              srcEid: 40102,
              dstEid: 40101,
              nonce: '7',
              stage: 'waiting',
              attempts: 2,
            },
            { guid: `0x${'cd'.repeat(32)}`, srcEid: 40101, dstEid: 40103, nonce: '9', stage: 'collecting' },
          ],
        },
        liquidations: [
          {
            id: `0x${'ef'.repeat(32)}`,
            account: '0x15d34aaf54267db7d7c367839aaf71a00a2c6a65',
            subaccount: 1,
            engineEid: 40102,
            chain: 'devnet-b',
            state: 'landed',
            at: Date.now() - 90_000,
            health: 0.93,
            seizures: [
              {
                id: `0x${'5e'.repeat(32)}`,
                chain: 'devnet-a',
                token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
                symbol: 'WETH',
                amount: '0.61',
                status: 'paid',
                payoutTx: `0x${'7a'.repeat(32)}`,
                latencyMs: 4_200,
              },
            ],
          },
        ],
        rebalances: [
          {
            id: `0x${'1f'.repeat(32)}`,
            account: TRADER,
            subaccount: '2',
            from: 'devnet-b',
            to: 'devnet-c',
            state: 'credited',
            at: Date.now() - 30_000,
            amount: '264.21',
            symbol: 'USDC',
            valueUsd: 264.21,
            healthBefore: 1.22,
            healthAfter: 1.6,
            latencyMs: 4_170,
          },
        ],
      };
    },
  };
}
