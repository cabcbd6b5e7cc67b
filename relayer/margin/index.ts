// Entry of the margin view: the unified cross-chain state of every account (see ./view.ts).
export { applyBlock, applyEvent } from './apply.ts';
export { computeEngine, liquidationDistances } from './compute.ts';
export { decodeLog } from './decode.ts';
export {
  buildObservation,
  checkQuorum,
  type MarginObservation,
  type ObservationSignature,
  observationDigest,
  signObservation,
} from './observation.ts';
export { emptyState, type MarginState } from './state.ts';
export { type AssetNamer, accountTotal, assetNamer } from './total.ts';
export * from './types.ts';
export {
  type ChangeListener,
  createMarginView,
  type MarginStats,
  type MarginView,
  type MarginViewOptions,
} from './view.ts';
