import type { ClusterRole } from '@ctos/launcher';
import type { BenchConfig, FigureId } from './config';
import { startEchoServer, type EchoServer } from './echo-server';
import type { ProfiledProcess } from './figure-profiles';
import { aiRelayFigure, startScriptedStandin } from './figures/ai-relay';
import { fanoutFigure } from './figures/fanout';
import { gatewayIsolationFigure } from './figures/gateway-isolation';
import { idleSocketsFigure } from './figures/idle-sockets';
import {
  keystrokeBaselineRows,
  keystrokeOver,
  keystrokeRows,
  keystrokeSocketIo,
  type KeystrokeBaselines,
} from './figures/keystroke';
import { sessionsFigure } from './figures/sessions';
import { throughputOver, throughputRows, type ThroughputBaselines, type ThroughputTargets } from './figures/throughput';
import type { OwnedProcesses } from './owned-processes';
import { ptyPath } from './pty-baseline';
import { unmeasured, type FigureRow } from './report';
import { attempt, type RunContext } from './run-context';
import { startClusterSystem, startEmbeddedSystem, type ClusterSystem, type EmbeddedSystem } from './systems';
import { systemPath } from './terminal-client';
import type { PathName, TerminalPath } from './terminal-link';
import { startWetty, WETTY, wettyPath, type WettyPeer } from './wetty';

/** Issue 17's targets of figures 1 and 2 for one of our systems. */
interface TerminalTargets {
  /** Keystroke p50 within this much of bare Socket.IO's (ms). */
  budgetMs: number;
  throughput: ThroughputTargets;
}

/** Issue 17, embedded mode: p50 ≤ bare + 0.05 ms; throughput ≥ 0.6 × node-pty and ≥ 1.1 × wetty. */
const EMBEDDED_TARGETS: TerminalTargets = { budgetMs: 0.05, throughput: { pty: 0.6, wetty: 1.1 } };
/** Issue 17, through nginx, two gateways and Redis: p50 ≤ bare + 0.3 ms; throughput ≥ 1.0 × wetty. */
const CLUSTER_TARGETS: TerminalTargets = { budgetMs: 0.3, throughput: { wetty: 1.0 } };

const EMBEDDED: PathName = { key: 'embedded', label: 'embedded' };
const CLUSTER: PathName = { key: 'cluster', label: 'cluster' };

/**
 * The cluster's roles that run our services, each started with the profiling preload
 * (Redis and nginx are not): every ClusterRole, so a new role fails to compile here.
 */
const PROFILED_ROLES: Record<ClusterRole, true> = {
  gateway: true,
  'terminal-worker': true,
  'ai-worker': true,
  'message-worker': true,
};

/** Everything that must be stopped however the run ends. */
export interface Running {
  owned: OwnedProcesses;
  cluster?: ClusterSystem;
  embedded?: EmbeddedSystem;
  wetty?: WettyPeer;
}

/** Stops the cluster (its own processes, by PID) and every process the benchmark started. */
export async function stopEverything(running: Running): Promise<void> {
  await running.cluster?.cluster.stop().catch(() => undefined); // it kills what is left on exit anyway
  running.cluster = undefined;
  await running.owned.stopAll();
}

/** The processes under test running now: when profiling, each was started with the preload. */
export function profiledProcesses(running: Running): ProfiledProcess[] {
  const processes: ProfiledProcess[] = [];
  if (running.embedded) processes.push({ pid: running.embedded.process.pid, name: 'embedded' });
  if (running.wetty) processes.push({ pid: running.wetty.process.pid, name: 'wetty' });
  for (const { pid, name, role } of running.cluster?.cluster.processes() ?? []) {
    if (role in PROFILED_ROLES) processes.push({ pid, name });
  }
  return processes;
}

/** Whether this run measures a figure. */
type Want = (id: FigureId) => boolean;

/** The baselines and the peer's rate, measured before our systems start. */
interface Baselines {
  echoServer: EchoServer | undefined;
  echo: KeystrokeBaselines;
  flood: ThroughputBaselines;
}

/**
 * Every figure the settings ask for: baselines first, then wetty, then embedded mode, then
 * the cluster (every figure goes through it).
 */
export async function runFigures(config: BenchConfig, running: Running, context: RunContext): Promise<void> {
  const want: Want = (id) => config.BENCH_FIGURES.includes(id);
  const baselines = await measureBaselines(want, running, context);
  if (want('keystroke') || want('throughput')) {
    await wettyFigures(want, baselines, running, context);
    await embeddedFigures(want, baselines, running, context);
  }
  await clusterRun(config, want, baselines, running, context);
  context.progress('stopping everything');
  await stopEverything(running);
}

/**
 * Starts the bare Socket.IO echo server when a figure needs it, and measures the
 * keystroke and throughput baselines on a quiet machine: nothing under test runs yet.
 */
async function measureBaselines(want: Want, running: Running, context: RunContext): Promise<Baselines> {
  let echoServer: EchoServer | undefined;
  if (want('keystroke') || want('sockets')) {
    echoServer = await attempt(context, 'bare Socket.IO echo server', () =>
      startEchoServer(running.owned, context.env),
    );
  }
  const echo: KeystrokeBaselines = {};
  const flood: ThroughputBaselines = {};
  if (want('keystroke')) {
    echo.pty = await keystrokeOver(context, ptyPath);
    if (echoServer) echo.socketio = await keystrokeSocketIo(context, echoServer);
    context.rows.push(...keystrokeBaselineRows(echo));
  }
  if (want('throughput')) flood.pty = await throughputOver(context, ptyPath);
  return { echoServer, echo, flood };
}

/**
 * Figures 1 and 2 through one terminal path, rows included: ours with issue 17's
 * `targets`, a peer without. A path that did not start comes as its name alone, and its
 * rows say n/a. @returns the throughput (MB/s), if measured.
 */
async function terminalFigures(
  want: Want,
  baselines: Baselines,
  context: RunContext,
  path: TerminalPath | PathName,
  targets?: TerminalTargets,
): Promise<number | undefined> {
  const started = 'open' in path ? path : undefined;
  if (want('keystroke')) {
    const summary = started && (await context.profile('keystroke', () => keystrokeOver(context, started)));
    context.rows.push(...keystrokeRows(path, summary, baselines.echo, targets?.budgetMs));
  }
  if (!want('throughput')) return undefined;
  const rate = started && (await context.profile('throughput', () => throughputOver(context, started)));
  context.rows.push(...throughputRows(path, rate, baselines.flood, targets?.throughput));
  return rate;
}

/** Figures 1 and 2 through wetty, the peer: installed on demand, started, measured like ours, stopped. */
async function wettyFigures(want: Want, baselines: Baselines, running: Running, context: RunContext): Promise<void> {
  context.progress(`${WETTY.label}: starting`);
  running.wetty = await attempt(context, WETTY.label, () => startWetty(context));
  const path = running.wetty ? wettyPath(running.wetty) : WETTY;
  baselines.flood.wetty = await terminalFigures(want, baselines, context, path);
  await running.wetty?.process.stop();
  running.wetty = undefined;
}

/** Figures 1 and 2 through embedded mode, in a process of its own that is stopped after. */
async function embeddedFigures(want: Want, baselines: Baselines, running: Running, context: RunContext): Promise<void> {
  context.progress('embedded mode: starting');
  const embedded = await attempt(context, 'embedded mode', () =>
    startEmbeddedSystem(running.owned, context.env, context.cpuProfileDir),
  );
  running.embedded = embedded;
  const path = embedded ? systemPath(EMBEDDED, embedded.url, embedded.jwtSecret, 'bench-embedded') : EMBEDDED;
  await terminalFigures(want, baselines, context, path, EMBEDDED_TARGETS);
  await embedded?.process.stop();
  running.embedded = undefined;
}

/** Starts the AI stand-in if figure 5 is wanted, then the cluster, and measures its figures. */
async function clusterRun(
  config: BenchConfig,
  want: Want,
  baselines: Baselines,
  running: Running,
  context: RunContext,
): Promise<void> {
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
  running.cluster = cluster;
  if (cluster) await clusterFigures(want, baselines, cluster, standinUrl, context);
  else await unmeasuredClusterFigures(want, baselines, context);
}

/** Figures 1–7 through the running cluster, each as the settings ask (7 last: it adds gateways). */
async function clusterFigures(
  want: Want,
  baselines: Baselines,
  cluster: ClusterSystem,
  standinUrl: string | undefined,
  context: RunContext,
): Promise<void> {
  const { rows } = context;
  const secret = cluster.cluster.jwtSecret;
  const path = systemPath(CLUSTER, cluster.url, secret, 'bench-cluster');
  await terminalFigures(want, baselines, context, path, CLUSTER_TARGETS);
  if (want('sessions')) rows.push(...(await context.profile('sessions', () => sessionsFigure(context, cluster))));
  if (want('sockets')) {
    rows.push(...(await context.profile('sockets', () => idleSocketsFigure(context, cluster, baselines.echoServer))));
  }
  if (want('ai')) {
    rows.push(
      ...(standinUrl
        ? await context.profile('ai', () => aiRelayFigure(context, cluster.url, secret, standinUrl))
        : [unmeasured(5, 'ai', 'AI relay overhead', 'the Anthropic stand-in did not start')]),
    );
  }
  if (want('fanout')) rows.push(...(await context.profile('fanout', () => fanoutFigure(context, cluster))));
  if (want('gateways')) {
    rows.push(...(await context.profile('gateways', () => gatewayIsolationFigure(context, cluster))));
  }
}

/** The cluster's rows when it did not start: every wanted figure, unmeasured. */
async function unmeasuredClusterFigures(want: Want, baselines: Baselines, context: RunContext): Promise<void> {
  await terminalFigures(want, baselines, context, CLUSTER, CLUSTER_TARGETS);
  const reason = 'the cluster did not start (see problems)';
  const rows: FigureRow[] = [
    ...(want('sessions') ? [unmeasured(3, 'sessions', 'sessions per terminal-worker', reason)] : []),
    ...(want('sockets') ? [unmeasured(4, 'sockets', 'idle sockets per gateway', reason)] : []),
    ...(want('ai') ? [unmeasured(5, 'ai', 'AI relay overhead', reason)] : []),
    ...(want('fanout') ? [unmeasured(6, 'fanout', 'message fan-out', reason)] : []),
    ...(want('gateways') ? [unmeasured(7, 'gateways', 'gateway CPU for output it does not deliver', reason)] : []),
  ];
  context.rows.push(...rows);
}
