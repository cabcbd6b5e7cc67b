// Entry of the API subsystem: the HTTP server (status JSON, Prometheus text, dashboard), the
// per-node metrics and the NodeStatus shape the node builds for it.
export * from './metrics.ts';
export { type ApiServer, type ApiServerOptions, createApiServer } from './server.ts';
export type * from './types.ts';
