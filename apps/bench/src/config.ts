import path from 'node:path';
import { z } from 'zod';
import { parseConfig, setting } from '@ctos/runtime';

/** The six figures of issue 8 and issue 17's gateway figure, by the name `BENCH_FIGURES` selects them with. */
export const FIGURE_IDS = ['keystroke', 'throughput', 'sessions', 'sockets', 'ai', 'fanout', 'gateways'] as const;
export type FigureId = (typeof FIGURE_IDS)[number];

/** Where `results/` and `.cache/` are: beside `src/` and `dist/` in this package. */
const PACKAGE_ROOT = path.resolve(__dirname, '..');

/**
 * Environment variables of `npm run bench`. The defaults are issue 8's figures; the
 * variables exist to run a smaller benchmark while working on one hot path.
 */
export const benchSettings = {
  /** Comma-separated subset of `keystroke,throughput,sessions,sockets,ai,fanout,gateways`; default all seven. */
  BENCH_FIGURES: setting.list([...FIGURE_IDS]).pipe(z.array(z.enum(FIGURE_IDS)).min(1)),
  /** Keystroke round trips measured per path (issue 8: 2,000). */
  BENCH_ECHO_ROUNDS: setting.int(2000, 10, 1_000_000),
  /** Round trips run first and not measured, so every path is measured warm (JIT, buffers). */
  BENCH_ECHO_WARMUP: setting.int(200, 0, 100_000),
  /** Bytes the shell writes in the throughput figure (bytes; issue 8: 200 MB). */
  BENCH_FLOOD_BYTES: setting.int(200_000_000, 1_000_000, 10_000_000_000),
  /** Idle sessions opened on the one terminal-worker (issue 8: 1,000; the worker's default capacity). */
  BENCH_SESSIONS: setting.int(1000, 1, 4000),
  /** Idle authenticated sockets held on one gateway (issue 8: 10,000). */
  BENCH_IDLE_SOCKETS: setting.int(10_000, 1, 19_000),
  /** Sockets (one user each) that receive every fanned-out message (issue 8: 1,000). */
  BENCH_FANOUT_SOCKETS: setting.int(1000, 2, 1000),
  /** Messages posted to all of them in the measured fan-out. */
  BENCH_FANOUT_MESSAGES: setting.int(20, 1, 10_000),
  /** Deltas of the scripted AI reply (issue 8: 1,000). */
  BENCH_AI_CHUNKS: setting.int(1000, 1, 100_000),
  /**
   * Measured AI replies per path. The median is reported: enough runs that one slow reply
   * on a busy box does not move it.
   */
  BENCH_AI_RUNS: setting.int(15, 1, 100),
  /**
   * When true, the processes under test (embedded, gateways, workers, wetty) are profiled,
   * each figure on its own: `results/profiles/<figure>/<process>.cpuprofile` and a
   * `summary.txt` beside them.
   */
  BENCH_CPU_PROFILE: setting.bool(false),
  /** The whole run is cut off after this long (ms); issue 8 bounds a full run to 10 minutes. */
  BENCH_DEADLINE_MS: setting.int(10 * 60 * 1000, 10_000),
};

/** The parsed settings. */
export type BenchConfig = z.output<z.ZodObject<typeof benchSettings>> & {
  /** `apps/bench/results`: the latest run's report, logs and profiles (git-ignored). */
  resultsDir: string;
  /** `apps/bench/.cache`: peers installed on demand (git-ignored, see apps/bench/.gitignore). */
  cacheDir: string;
};

/**
 * Parses the benchmark's settings from this process's environment.
 * @throws ConfigError listing every bad value.
 */
export function loadBenchConfig(env: Record<string, string | undefined> = process.env): BenchConfig {
  return {
    ...parseConfig(z.object(benchSettings), env),
    resultsDir: path.join(PACKAGE_ROOT, 'results'),
    cacheDir: path.join(PACKAGE_ROOT, '.cache'),
  };
}

/**
 * The environment the processes under test start from: only what a shell and Node need
 * (no secrets or settings of the operator's own shell leak into the measurement).
 */
export function baseProcessEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
  };
  return env;
}

/**
 * The environment `npm install` of a peer runs with: the operator's own, where npm's
 * registry, proxy and cache settings live (nothing under test runs with it).
 */
export function installEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** The folder a process under test writes its CPU profile into (see cpu-profile-preload.ts), if profiling. */
export function cpuProfileDirFromEnv(): string | undefined {
  return process.env.BENCH_CPU_PROFILE_DIR || undefined;
}

/**
 * Sent to a profiled process to end its profile window: it writes the profile so far and
 * starts a new one (cpu-profile-preload.ts), so each figure gets a profile of its own.
 * No service of ours handles it; the launcher's own use of SIGUSR2 is in its command-line
 * process, which the benchmark does not run.
 */
export const PROFILE_CUT_SIGNAL: NodeJS.Signals = 'SIGUSR2';

/**
 * "Today's" figures 3 and 4, which issue 17 says must not regress by more than
 * {@link REGRESSION_TOLERANCE}: fixed reference values, not measured in the run. They are
 * the mean of two runs of `BENCH_FIGURES=sessions,sockets` with the default sizes, on
 * 2026-12-07, of commit a7e274b as committed (built apart from the working tree, whose
 * uncommitted changes to the services were left out), on a 2-core Intel Xeon box shared
 * with other work (load 6–9): 220 and 207 KiB per session, 22.0 and 24.3 KiB per socket.
 * The figures of docs/benchmarks.md's latest full run (139 and 19.6 KiB) came from
 * another machine, before issue 15's per-user isolation, and do not hold for this code.
 */
export const TODAY = {
  /** Idle sessions one terminal-worker holds (the 1,001st was refused at capacity both times). */
  sessionsPerWorker: 1000,
  /** Worker RSS per idle session, shells excluded (KiB). */
  rssPerSessionKiB: 214,
  /** Idle authenticated sockets one gateway holds (all 10,000 connected both times). */
  socketsPerGateway: 10_000,
  /** Gateway RSS per idle socket (KiB). */
  rssPerSocketKiB: 23.2,
} as const;

/** Issue 17: figures 3 and 4 stay within this share of {@link TODAY}. */
export const REGRESSION_TOLERANCE = 0.1;
