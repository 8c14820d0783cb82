import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@ctos/runtime';
import { baseProcessEnv, loadBenchConfig, type BenchConfig } from './config';
import { FigureProfiles } from './figure-profiles';
import { OwnedProcesses } from './owned-processes';
import {
  formatTable,
  machineInfo,
  relation,
  writeReport,
  type BenchReport,
  type FigureRow,
  type MachineInfo,
} from './report';
import type { RunContext } from './run-context';
import { profiledProcesses, runFigures, stopEverything, type Running } from './run-figures';

/** Exit code when the deadline cut the run short. */
const EXIT_DEADLINE = 3;

/**
 * The benchmark's settings.
 * On a bad setting it prints the problems and exits with code 2.
 */
function loadConfigOrExit(): BenchConfig {
  try {
    return loadBenchConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * Makes `results/` and the run's context. The last run's profiles go first, profiling or
 * not: what sits beside `latest.json` is always the latest run's.
 */
function startRun(
  config: BenchConfig,
  startedAt: Date,
): { running: Running; context: RunContext; profiles: FigureProfiles | undefined } {
  mkdirSync(config.resultsDir, { recursive: true });
  const profileDir = path.join(config.resultsDir, 'profiles');
  rmSync(profileDir, { recursive: true, force: true });
  if (config.BENCH_CPU_PROFILE) mkdirSync(profileDir, { recursive: true });
  const running: Running = { owned: new OwnedProcesses(path.join(config.resultsDir, 'logs')) };
  // Each line carries the 1-minute load average: other work on the box moves every figure.
  const progress = (message: string): void => {
    const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(3);
    process.stderr.write(`[bench ${seconds} s, load ${os.loadavg()[0]!.toFixed(1)}] ${message}\n`);
  };
  const profiles = config.BENCH_CPU_PROFILE
    ? new FigureProfiles(profileDir, () => profiledProcesses(running), progress)
    : undefined;
  const context: RunContext = {
    config,
    owned: running.owned,
    env: baseProcessEnv(),
    cpuProfileDir: config.BENCH_CPU_PROFILE ? profileDir : undefined,
    rows: [],
    details: {},
    problems: [],
    progress,
    profile: (figure, step) => (profiles ? profiles.around(figure, step) : step()),
  };
  return { running, context, profiles };
}

/** Writes `results/latest.json` and prints the table, the problems and a line about the machine to stdout. */
function finishReport(config: BenchConfig, context: RunContext, startedAt: Date, machine: MachineInfo): void {
  const rows: FigureRow[] = [...context.rows].sort((a, b) => a.figure - b.figure);
  const finishedAt = new Date();
  const report: BenchReport = {
    started_at: startedAt.toISOString(),
    finished_at: finishedAt.toISOString(),
    duration_s: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine: { ...machine, load_average_end: os.loadavg()[0]! },
    settings: Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith('BENCH_'))),
    figures: rows.map((row) => ({ ...row, relation: relation(row) })),
    details: context.details,
    problems: context.problems,
  };
  const file = writeReport(config.resultsDir, report);
  process.stdout.write(`\n${formatTable(rows)}\n\n`);
  if (context.problems.length > 0) {
    process.stdout.write(`problems:\n${context.problems.map((p) => `  - ${p}`).join('\n')}\n\n`);
  }
  process.stdout.write(
    `${machine.cpus} × ${machine.cpu_model}, load ${machine.load_average_start.toFixed(2)} → ${report.machine.load_average_end?.toFixed(2)}; ` +
      `${report.duration_s.toFixed(0)} s; written to ${path.relative(process.cwd(), file)}\n`,
  );
}

/**
 * Cuts the run short at its deadline (exit 3), on SIGINT (130) or SIGTERM (143): the
 * reason becomes a problem, everything is stopped, the report is written, then it exits.
 * @returns whether that happened, and the deadline's timer to clear when the run ends in time.
 */
function guardRun(
  config: BenchConfig,
  running: Running,
  context: RunContext,
  finish: () => void,
): { interrupted(): boolean; deadline: NodeJS.Timeout } {
  let interrupted = false;
  const abort = (reason: string, code: number): void => {
    if (interrupted) return;
    interrupted = true;
    context.problems.push(reason);
    context.progress(`${reason}: stopping everything`);
    void stopEverything(running).finally(() => {
      finish();
      process.exit(code);
    });
  };
  const deadline = setTimeout(
    () => abort(`the run passed its deadline of ${config.BENCH_DEADLINE_MS / 1000} s`, EXIT_DEADLINE),
    config.BENCH_DEADLINE_MS,
  );
  process.once('SIGINT', () => abort('interrupted (SIGINT)', 130));
  process.once('SIGTERM', () => abort('terminated (SIGTERM)', 143));
  return { interrupted: () => interrupted, deadline };
}

/** `npm run bench`: measures the figures, writes results/latest.json, prints the table, exits. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const startedAt = new Date();
  const machine = machineInfo();
  const { running, context, profiles } = startRun(config, startedAt);
  const finish = (): void => finishReport(config, context, startedAt, machine);
  const guard = guardRun(config, running, context, finish);
  try {
    await runFigures(config, running, context);
  } catch (error) {
    context.problems.push(`the run failed: ${(error as Error).stack ?? String(error)}`);
    await stopEverything(running);
  }
  clearTimeout(guard.deadline);
  if (guard.interrupted()) return;
  if (profiles) context.details.profiles = profiles.finish();
  finish();
  // Sockets of the benchmark's own clients may linger in their close handshakes: do not wait for them.
  process.exit(0);
}

void main();
