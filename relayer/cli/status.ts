// `xmargin status`: what a running node knows, read from its status API — peers, chain heads and
// lag, packets in flight, recent liquidations. --json prints the node's /status document as it is.

import { Command } from 'commander';
import type { NodeStatus } from '../api/types.ts';

interface StatusFlags {
  url: string;
  json?: boolean;
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export async function fetchStatus(url: string): Promise<NodeStatus> {
  const base = url.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const reason =
      error instanceof Error
        ? error.cause instanceof Error
          ? error.cause.message
          : error.message
        : String(error);
    throw new Error(
      `${base}: no node answers (${reason}) — is it running, and is this its API port (see its "dashboard at" log line)?`,
    );
  }
  if (!response.ok) throw new Error(`${base}/status answered HTTP ${response.status}`);
  return (await response.json()) as NodeStatus;
}

export function printStatus(s: NodeStatus): void {
  out(
    `node ${s.node.signer}  peer ${s.node.peerId}  roles ${s.node.roles.join(',')}  up ${s.node.uptimeS} s  v${s.node.version}`,
  );
  out('');
  out(`peers (${s.peers.length})`);
  for (const p of s.peers)
    out(`  ${p.peerId}  ${p.signer ?? '(no heartbeat yet)'}  score ${p.score.toFixed(2)}`);
  out('');
  out('chains');
  for (const c of s.chains) {
    const rpc = c.rpcOk ? 'rpc ok' : `rpc FAILING: ${c.lastError ?? ''}`;
    out(`  ${c.name.padEnd(14)} eid ${c.eid}  head ${c.head ?? '-'}  lag ${c.lag ?? '-'}  ${rpc}`);
  }
  out('');
  out(
    `packets: ${s.packets.inFlight} in flight, ${s.packets.verified} verified, ${s.packets.delivered} delivered, ${s.packets.failed.length} failing`,
  );
  for (const f of s.packets.failed) out(`  ${f.guid}: ${f.reason}`);
  out('');
  out(`liquidations (${s.liquidations.length})`);
  for (const l of s.liquidations.slice(0, 10)) {
    out(
      `  ${new Date(l.at).toISOString()}  ${l.chain ?? l.engineEid}  ${l.account}/${l.subaccount}  ${l.state}${l.txHash === undefined ? '' : `  ${l.txHash}`}`,
    );
  }
  const hb = s.heartbeats;
  if (hb !== undefined) {
    out('');
    out(
      `source-chain heartbeats${hb.sent === undefined ? '' : ` (this node sent ${hb.sent}, ${hb.failed ?? 0} failed)`}`,
    );
    for (const h of hb.heard) out(`  ${h.engine} heard ${h.source} ${h.ageSec} s ago`);
  }
  if (s.rebalances === undefined) return;
  out('');
  out(`automated moves (${s.rebalances.length})`);
  const h = (x: number | null | undefined) => (x === undefined ? '-' : x === null ? 'inf' : x.toFixed(2));
  for (const r of s.rebalances.slice(0, 10)) {
    out(
      `  ${new Date(r.at).toISOString()}  ${r.from} -> ${r.to}  ${r.account}/${r.subaccount}  ${r.amount} ${r.symbol ?? ''}  health ${h(r.healthBefore)} -> ${h(r.healthAfter)}  ${r.state}${r.latencyMs === undefined ? '' : `  ${r.latencyMs} ms`}`,
    );
  }
}

export function statusCommand(): Command {
  return new Command('status')
    .description("a running node's peers, chain heads and lag, packets in flight and liquidations")
    .option('--url <url>', 'the node\'s API (its log says "dashboard at …")', 'http://127.0.0.1:7400')
    .option('--json', "print the node's /status document")
    .addHelpText('after', '\nExample:\n  xmargin status --url http://127.0.0.1:7400\n')
    .action(async (flags: StatusFlags) => {
      const s = await fetchStatus(flags.url);
      if (flags.json === true) out(JSON.stringify(s));
      else printStatus(s);
    });
}
