import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * How a figure is held against its baseline: `offset` is value − baseline (a latency
 * budget in the same unit), `ratio` is value ÷ baseline (a share of what the bare
 * machinery does), `absolute` compares the value with a fixed number only.
 */
export type Comparison = 'offset' | 'ratio' | 'absolute';

/** One line of the table and of `latest.json`. */
export interface FigureRow {
  /** Stable key, e.g. `keystroke.cluster.p50`, for comparing runs. */
  key: string;
  /** Issue 8's figure number, 1–6; 7 is issue 17's gateway figure. */
  figure: number;
  /** What was measured, for people. */
  label: string;
  /** `null` when the figure could not be measured (see `note`). */
  value: number | null;
  /** `ms`, `MB/s`, `KiB`, `sessions`, `deliveries/s`… */
  unit: string;
  /** The baseline from this run, in the same unit; `null` when there is none or it failed. */
  baseline: number | null;
  /** What the baseline is. */
  baselineLabel: string;
  comparison: Comparison;
  /** The target in words, e.g. `≤ baseline + 0.3 ms`. */
  target: string;
  /** Whether the target was met; `null` when it could not be judged. */
  met: boolean | null;
  /** Why a value is missing, or what to keep in mind reading it. */
  note?: string;
}

/** A row for a figure that could not be measured at all, so the table still lists every one. */
export function unmeasured(figure: number, key: string, label: string, reason: string): FigureRow {
  return {
    key,
    figure,
    label,
    value: null,
    unit: '',
    baseline: null,
    baselineLabel: '',
    comparison: 'absolute',
    target: '–',
    met: null,
    note: reason,
  };
}

/** value − baseline, or value ÷ baseline, as the row compares; `null` if either is missing. */
export function relation(row: FigureRow): number | null {
  if (row.value === null || row.baseline === null) return null;
  if (row.comparison === 'offset') return row.value - row.baseline;
  if (row.baseline === 0) return null;
  return row.value / row.baseline;
}

/** A number with a precision that suits its size (3 significant digits, at most 3 decimals). */
export function formatNumber(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return Math.round(value).toLocaleString('en-US');
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 10) return value.toFixed(1);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function formatRelation(row: FigureRow): string {
  const related = relation(row);
  if (related === null) return '–';
  if (row.comparison === 'offset') return `${related >= 0 ? '+' : ''}${formatNumber(related)} ${row.unit}`;
  return `${formatNumber(related)}×`;
}

/** The stdout table: figure, value, baseline, ratio/offset, target, met. */
export function formatTable(rows: readonly FigureRow[]): string {
  const header = ['#', 'figure', 'value', 'baseline (same run)', 'vs baseline', 'target', 'met'];
  const lines = rows.map((row) => [
    String(row.figure),
    row.label,
    row.value === null ? 'n/a' : `${formatNumber(row.value)} ${row.unit}`,
    row.baseline === null ? row.baselineLabel || '–' : `${formatNumber(row.baseline)} ${row.unit} ${row.baselineLabel}`,
    formatRelation(row),
    row.target,
    row.met === null ? '?' : row.met ? 'yes' : 'MISSED',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const render = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const notes = rows
    .filter((row) => row.note)
    .map((row) => `  [${row.key}] ${row.note}`)
    .join('\n');
  return [
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...lines.map(render),
    ...(notes ? ['', 'notes:', notes] : []),
  ].join('\n');
}

/** What the machine looked like during the run: the figures mean little without it. */
export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  memory_total_mib: number;
  node: string;
  platform: string;
  /** 1-minute load average at the start and the end: other work on the box skews every figure. */
  load_average_start: number;
  load_average_end?: number;
}

/** The machine now. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_total_mib: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    load_average_start: os.loadavg()[0]!,
  };
}

/** The content of `results/latest.json`. */
export interface BenchReport {
  started_at: string;
  finished_at: string;
  duration_s: number;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  figures: Array<FigureRow & { relation: number | null }>;
  /** Raw measurements behind the rows (distributions, counts), by figure. */
  details: Record<string, unknown>;
  /** Things that went wrong but did not stop the run. */
  problems: string[];
}

/** Writes `report` to `dir/latest.json` (atomically) and returns the file's path. */
export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(report, null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}
