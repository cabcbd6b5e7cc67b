// Entry of the protocol leaf: wire formats shared with the contracts. Knows nothing of the node,
// so anything (attestor, margin view, tests, tools) may import it.
export * from './messages.ts';
