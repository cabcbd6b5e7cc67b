// Entry of the store leaf: LevelDB with numbered buckets, typed repositories, atomic batches.
export { BUCKETS, type BucketName } from './buckets.ts';
export * from './codecs.ts';
export { type BatchOp, openStore, type Store } from './controller.ts';
export { memoryStore } from './memory.ts';
export * from './repositories.ts';
export { type Range, Repository } from './repository.ts';
