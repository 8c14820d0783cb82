import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@ctos/runtime';
import { baseProcessEnv, loadBenchConfig, type BenchConfig, type FigureId } from './config';
import { startEchoServer, type EchoServer } from './echo-server';
import { aiRelayFigure, startScriptedStandin } from './figures/ai-relay';
import { fanoutFigure } from './figures/fanout';
import { idleSocketsFigure } from './figures/idle-sockets';
import { keystrokeBaselineRows, keystrokeBaselines, keystrokeRows, keystrokeThrough } from './figures/keystroke';
import { sessionsFigure } from './figures/sessions';
import { throughputBaseline, throughputRow, throughputThrough } from './figures/throughput';
import { OwnedProcesses } from './owned-processes';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile-summary';
import {
  formatTable,
  machineInfo,
  relation,
  unmeasured,
  writeReport,
  type BenchReport,
  type FigureRow,
} from './report';
import { attempt, type RunContext } from './run-context';
import { startClusterSystem, startEmbeddedSystem, type ClusterSystem, type EmbeddedSystem } from './systems';

/** Issue 8: embedded keystroke p50 within this much of bare Socket.IO (ms). */
const EMBEDDED_BUDGET_MS = 0.3;
/** Issue 8: keystroke p50 through nginx, two gateways and Redis within this much of bare Socket.IO (ms). */
const CLUSTER_BUDGET_MS = 1;
/** Exit code when the deadline cut the run short. */
const EXIT_DEADLINE = 3;

/** Everything that must be stopped however the run ends. */
interface Running {
  owned: OwnedProcesses;
  cluster?: ClusterSystem;
  embedded?: EmbeddedSystem;
}

/** Stops the cluster (its own processes, by PID) and every process the benchmark started. */
async function stopEverything(running: Running): Promise<void> {
  await running.cluster?.cluster.stop().catch(() => undefined); // it kills what is left on exit anyway
  running.cluster = undefined;
  await running.owned.stopAll();
}

/** Reads the profiles the processes under test wrote, names each by its PID, and prints them to stderr. */
function summarizeProfiles(dir: string, names: Map<number, string>): Array<ProfileSummary & { process: string }> {
  const summaries: Array<ProfileSummary & { process: string }> = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    try {
      const summary = summarizeProfile(path.join(dir, file));
      const name = (summary.pid !== undefined ? names.get(summary.pid) : undefined) ?? `pid ${summary.pid}`;
      summaries.push({ ...summary, process: name });
      process.stderr.write(`\n${formatProfile(summary, name)}\n`);
    } catch (error) {
      process.stderr.write(`could not read ${file}: ${(error as Error).message}\n`);
    }
  }
  return summaries;
}

async function run(config: BenchConfig, running: Running, context: RunContext): Promise<void> {
  const want = (id: FigureId): boolean => config.BENCH_FIGURES.includes(id);
  const rows = context.rows;
  const pidNames = new Map<number, string>();

  let echoServer: EchoServer | undefined;
  if (want('keystroke') || want('sockets')) {
    echoServer = await attempt(context, 'bare Socket.IO echo server', () =>
      startEchoServer(running.owned, context.env),
    );
    if (echoServer) pidNames.set(echoServer.process.pid, 'bare Socket.IO echo server');
  }

  // Baselines first, on a quiet machine: nothing of the system under test runs yet.
  const echoBaselines = want('keystroke') ? await keystrokeBaselines(context, echoServer) : {};
  const floodBaseline = want('throughput') ? await throughputBaseline(context) : undefined;
  if (want('keystroke')) rows.push(...keystrokeBaselineRows(echoBaselines));

  if (want('keystroke') || want('throughput')) {
    context.progress('embedded mode: starting');
    const embedded = await attempt(context, 'embedded mode', () =>
      startEmbeddedSystem(running.owned, context.env, context.cpuProfileDir),
    );
    if (embedded) {
      running.embedded = embedded;
      pidNames.set(embedded.process.pid, 'embedded');
      if (want('keystroke')) {
        const summary = await keystrokeThrough(context, 'embedded', embedded.url, embedded.jwtSecret, 'bench-echo');
        rows.push(...keystrokeRows('embedded', summary, echoBaselines, EMBEDDED_BUDGET_MS));
      }
      if (want('throughput')) {
        const rate = await throughputThrough(context, 'embedded', embedded.url, embedded.jwtSecret, 'bench-flood');
        rows.push(throughputRow('embedded', rate, floodBaseline));
      }
      await embedded.process.stop();
      running.embedded = undefined;
    } else {
      if (want('keystroke')) rows.push(...keystrokeRows('embedded', undefined, echoBaselines, EMBEDDED_BUDGET_MS));
      if (want('throughput')) rows.push(throughputRow('embedded', undefined, floodBaseline));
    }
  }

  const clusterFigures: FigureId[] = ['keystroke', 'throughput', 'sessions', 'sockets', 'ai', 'fanout'];
  if (clusterFigures.some(want)) {
    let standinUrl: string | undefined;
    if (want('ai')) {
      const standin = await attempt(context, 'Anthropic stand-in', () =>
        startScriptedStandin(running.owned, context.env, config.BENCH_AI_CHUNKS),
      );
      standinUrl = standin?.url;
    }
    context.progress('cluster: starting Redis, nginx, 2 gateways, terminal-, ai- and message-worker');
    const cluster = await attempt(context, 'cluster', () =>
      startClusterSystem(context.env, standinUrl, context.cpuProfileDir),
    );
    if (cluster) {
      running.cluster = cluster;
      for (const info of cluster.cluster.processes()) pidNames.set(info.pid, info.name);
      const secret = cluster.cluster.jwtSecret;
      if (want('keystroke')) {
        const summary = await keystrokeThrough(context, 'cluster', cluster.url, secret, 'bench-echo');
        rows.push(...keystrokeRows('cluster', summary, echoBaselines, CLUSTER_BUDGET_MS));
      }
      if (want('throughput')) {
        const rate = await throughputThrough(context, 'cluster', cluster.url, secret, 'bench-flood');
        rows.push(throughputRow('cluster', rate, floodBaseline));
      }
      if (want('sessions')) rows.push(...(await sessionsFigure(context, cluster)));
      if (want('sockets')) rows.push(...(await idleSocketsFigure(context, cluster, echoServer)));
      if (want('ai')) {
        rows.push(
          ...(standinUrl
            ? await aiRelayFigure(context, cluster.url, secret, standinUrl)
            : [unmeasured(5, 'ai', 'AI relay overhead', 'the Anthropic stand-in did not start')]),
        );
      }
      if (want('fanout')) rows.push(...(await fanoutFigure(context, cluster)));
    } else {
      const reason = 'the cluster did not start (see problems)';
      if (want('keystroke')) rows.push(...keystrokeRows('cluster', undefined, echoBaselines, CLUSTER_BUDGET_MS));
      if (want('throughput')) rows.push(throughputRow('cluster', undefined, floodBaseline));
      if (want('sessions')) rows.push(unmeasured(3, 'sessions', 'sessions per terminal-worker', reason));
      if (want('sockets')) rows.push(unmeasured(4, 'sockets', 'idle sockets per gateway', reason));
      if (want('ai')) rows.push(unmeasured(5, 'ai', 'AI relay overhead', reason));
      if (want('fanout')) rows.push(unmeasured(6, 'fanout', 'message fan-out', reason));
    }
  }

  context.progress('stopping everything');
  await stopEverything(running);
  if (context.cpuProfileDir) context.details.profiles = summarizeProfiles(context.cpuProfileDir, pidNames);
}

async function main(): Promise<void> {
  let config: BenchConfig;
  try {
    config = loadBenchConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const startedAt = new Date();
  const machine = machineInfo();
  mkdirSync(config.resultsDir, { recursive: true });
  const cpuProfileDir = config.BENCH_CPU_PROFILE ? path.join(config.resultsDir, 'profiles') : undefined;
  if (cpuProfileDir) {
    rmSync(cpuProfileDir, { recursive: true, force: true });
    mkdirSync(cpuProfileDir, { recursive: true });
  }
  const running: Running = { owned: new OwnedProcesses(path.join(config.resultsDir, 'logs')) };
  const context: RunContext = {
    config,
    owned: running.owned,
    env: baseProcessEnv(),
    cpuProfileDir,
    rows: [],
    details: {},
    problems: [],
    // Each line carries the 1-minute load average: other work on the box moves every figure.
    progress: (message) =>
      process.stderr.write(
        `[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0).padStart(3)} s, load ${os.loadavg()[0]!.toFixed(1)}] ${message}\n`,
      ),
  };

  const finish = (): void => {
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
  };

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

  try {
    await run(config, running, context);
  } catch (error) {
    context.problems.push(`the run failed: ${(error as Error).stack ?? String(error)}`);
    await stopEverything(running);
  }
  clearTimeout(deadline);
  if (interrupted) return;
  finish();
  // Sockets of the benchmark's own clients may linger in their close handshakes: do not wait for them.
  process.exit(0);
}

void main();
