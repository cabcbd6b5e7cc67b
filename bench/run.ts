// `npm run bench`: runs every bench, one child process each, and prints one combined table (figure,
// unit, target, ✓/✗) or, with --json, the JSON lines of all of them.
//
// A bench is any bench/*.ts file (helpers live in bench/lib/) that, given --json, prints one JSON
// object per line: {bench, name, value | gas, unit, target?, cmp?, note?}. Adding a file is enough;
// BENCHES below only orders the known ones and gives their node flags and time limits.
//
//   node bench/run.ts [--json] [--only margin,gossip] [--skip gas]

import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { type Figure, figureValue, fmt, line, table } from './lib/report.ts';

interface BenchSpec {
  /** node flags before the script. */
  nodeArgs?: string[];
  /** Killed (and reported as failed) after this long. */
  timeoutMs?: number;
}

/** Known benches, in the order they run; any other bench/*.ts runs after them with the defaults. */
const BENCHES: Record<string, BenchSpec> = {
  margin: { nodeArgs: ['--expose-gc', '--max-old-space-size=8192'], timeoutMs: 300_000 },
  gossip: { timeoutMs: 480_000 },
  gas: { timeoutMs: 240_000 },
  // ~3 minutes; the margin over it is for a loaded machine (one devnet boot, 25 liquidation runs).
  latency: { timeoutMs: 420_000 },
};
const DEFAULT: Required<BenchSpec> = { nodeArgs: [], timeoutMs: 240_000 };

const here = import.meta.dirname;
const json = process.argv.includes('--json');
const listArg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : new Set((process.argv[i + 1] ?? '').split(','));
};
const only = listArg('--only');
const skip = listArg('--skip') ?? new Set<string>();

function discover(): string[] {
  const found = readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.slice(0, -3));
  const known = Object.keys(BENCHES).filter((b) => found.includes(b));
  const others = found.filter((b) => !(b in BENCHES)).sort();
  return [...known, ...others].filter((b) => (only === undefined || only.has(b)) && !skip.has(b));
}

/** One JSON line of a bench, normalised to a Figure (bench/gas.ts prints `gas` instead of `value`). */
function parse(text: string, bench: string): Figure | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    const value = figureValue(o.value) ?? figureValue(o.gas);
    if (typeof o.name !== 'string' || value === undefined) return undefined;
    return {
      bench: typeof o.bench === 'string' ? o.bench : bench,
      name: o.name,
      value,
      unit: typeof o.unit === 'string' ? o.unit : o.gas !== undefined ? 'gas' : '',
      ...(typeof o.target === 'number' ? { target: o.target } : {}),
      ...(o.cmp === '>=' || o.cmp === '<='
        ? { cmp: o.cmp }
        : typeof o.target === 'number'
          ? { cmp: '<=' }
          : {}),
      ...(typeof o.note === 'string' ? { note: o.note } : {}),
    };
  } catch {
    return undefined;
  }
}

function runOne(bench: string): Promise<{ figures: Figure[]; error?: string; ms: number }> {
  const spec = { ...DEFAULT, ...BENCHES[bench] };
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...spec.nodeArgs, path.join(here, `${bench}.ts`), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const figures: Figure[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffer += chunk;
      let nl = buffer.indexOf('\n');
      while (nl >= 0) {
        const f = parse(buffer.slice(0, nl).trim(), bench);
        if (f !== undefined) figures.push(f);
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf('\n');
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, spec.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const f = parse(buffer.trim(), bench);
      if (f !== undefined) figures.push(f);
      const ms = Date.now() - started;
      if (timedOut) resolve({ figures, error: `timed out after ${spec.timeoutMs / 1000} s`, ms });
      else if (code !== 0) {
        const last = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? '';
        resolve({ figures, error: `exit ${code ?? signal}: ${last}`.slice(0, 300), ms });
      } else resolve({ figures, ms });
    });
  });
}

async function main(): Promise<void> {
  const benches = discover();
  const all: Figure[] = [];
  let failed = 0;
  const t0 = Date.now();
  for (const bench of benches) {
    if (!json) process.stderr.write(`bench ${bench} ...\n`);
    const r = await runOne(bench);
    all.push(...r.figures);
    if (r.error !== undefined) {
      failed++;
      // A failed bench is a miss, never silently absent.
      all.push({
        bench,
        name: 'bench did not complete',
        value: Number.NaN,
        unit: '',
        target: 0,
        cmp: '>=',
        note: r.error,
      });
    }
    if (json) for (const f of r.figures) process.stdout.write(`${line(f)}\n`);
    else
      process.stderr.write(
        `bench ${bench}: ${r.figures.length} figures in ${fmt(r.ms / 1000)} s${r.error ? ` — ${r.error}` : ''}\n`,
      );
    if (json && r.error !== undefined) {
      process.stdout.write(
        `${JSON.stringify({ bench, name: 'bench did not complete', error: r.error, ok: false })}\n`,
      );
    }
  }
  if (!json) {
    process.stdout.write(
      `${table(all)}\n\n${benches.length} benches in ${fmt((Date.now() - t0) / 1000)} s\n`,
    );
  }
  process.exitCode = failed > 0 ? 1 : 0;
}

await main();
