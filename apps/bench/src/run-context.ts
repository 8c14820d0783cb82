import type { BenchConfig, FigureId } from './config';
import type { OwnedProcesses } from './owned-processes';
import type { FigureRow } from './report';

/** What every figure gets: settings, the processes it may start, and where results go. */
export interface RunContext {
  config: BenchConfig;
  owned: OwnedProcesses;
  /** The minimal environment helper processes start with (PATH, HOME, LANG). */
  env: Record<string, string>;
  /** Where profiles go when BENCH_CPU_PROFILE is on. */
  cpuProfileDir: string | undefined;
  rows: FigureRow[];
  /** Raw measurements behind the rows, by key. */
  details: Record<string, unknown>;
  /** What went wrong without stopping the run. */
  problems: string[];
  /** A progress line on stderr (stdout is the table). */
  progress(message: string): void;
  /**
   * Runs `step`, one figure or one system's part of it; when profiling, in a profile
   * window of its own, filed under `figure` (figure-profiles.ts).
   */
  profile<T>(figure: FigureId, step: () => Promise<T>): Promise<T>;
}

/**
 * Runs `step`; when it throws, records the problem and returns undefined, so one broken
 * figure never costs the others (issue 8: mark it, but complete the run).
 */
export async function attempt<T>(context: RunContext, what: string, step: () => Promise<T>): Promise<T | undefined> {
  try {
    return await step();
  } catch (error) {
    const message = `${what}: ${(error as Error).message}`;
    context.problems.push(message);
    context.progress(`  ! ${message}`);
    return undefined;
  }
}
