// Moved to relayer/chain/anvil.ts (the devnet CLI uses it too); kept so existing tests import it from here.
export * from '../../relayer/chain/anvil.ts';
