// The node-process cluster moved to the library (relayer/devnet/cluster.ts: `npm start` uses it too).
export * from '../../relayer/devnet/cluster.ts';
