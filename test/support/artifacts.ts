// Moved to relayer/chain/artifacts.ts (the devnet CLI uses it too); kept so existing tests import it from here.
export * from '../../relayer/chain/artifacts.ts';
