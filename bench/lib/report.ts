// What every bench prints: a markdown table for people, or with --json one JSON object per line
// {bench, name, value, unit, target?, cmp?, ok?, note?} for machines (bench/run.ts reads those).

export interface Figure {
  bench: string;
  name: string;
  value: number;
  unit: string;
  /** The target, met when `value cmp target`. */
  target?: number;
  cmp?: '>=' | '<=';
  note?: string;
}

export const jsonMode = (): boolean => process.argv.includes('--json');

/** Whether a figure meets its target; undefined when it has none. */
export function meets(f: Pick<Figure, 'value' | 'target' | 'cmp'>): boolean | undefined {
  if (f.target === undefined) return undefined;
  return (f.cmp ?? '<=') === '>=' ? f.value >= f.target : f.value <= f.target;
}

export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && abs < 0.01) return x.toPrecision(2);
  if (abs < 100) return String(Number(x.toPrecision(3)));
  return Math.round(x).toLocaleString('en');
}

/** One JSON line. JSON has no Infinity or NaN: those values are written as the strings "Infinity", "NaN". */
export function line(f: Figure): string {
  const ok = meets(f);
  const value = Number.isFinite(f.value) ? f.value : String(f.value);
  return JSON.stringify({ ...f, value, ...(ok === undefined ? {} : { ok }) });
}

/** A JSON line's value back to a number (see `line`); undefined when it is not one. */
export function figureValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
  return undefined;
}

export function table(figures: readonly Figure[]): string {
  const rows = ['| bench | figure | value | unit | target | |', '| --- | --- | ---: | --- | ---: | :---: |'];
  for (const f of figures) {
    const ok = meets(f);
    const target = f.target === undefined ? '' : `${f.cmp ?? '<='} ${fmt(f.target)}`;
    const name = f.note === undefined ? f.name : `${f.name} (${f.note})`;
    rows.push(
      `| ${f.bench} | ${name} | ${fmt(f.value)} | ${f.unit} | ${target} | ${ok === undefined ? '' : ok ? '✓' : '✗'} |`,
    );
  }
  return rows.join('\n');
}

/** Prints figures the way the run asked for (table, or JSON lines). */
export function output(figures: readonly Figure[]): void {
  if (jsonMode()) for (const f of figures) process.stdout.write(`${line(f)}\n`);
  else process.stdout.write(`\n${table(figures)}\n`);
}

/** Progress for people; silent in --json mode (stdout is for the JSON lines). */
export function progress(text: string): void {
  if (!jsonMode()) process.stderr.write(`${text}\n`);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Runs `fn` `times` times and returns each duration in ms. */
export function timeRuns(times: number, fn: () => void): number[] {
  const out: number[] = [];
  for (let r = 0; r < times; r++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out;
}

/** Heap used plus ArrayBuffer backing stores after a full GC (node --expose-gc); NaN without gc. */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
