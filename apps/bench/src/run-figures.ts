import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { BenchConfig, FigureId } from './config';
import { startEchoServer, type EchoServer } from './echo-server';
import { aiRelayFigure, startScriptedStandin } from './figures/ai-relay';
import { fanoutFigure } from './figures/fanout';
import { gatewayIsolationFigure } from './figures/gateway-isolation';
import { idleSocketsFigure } from './figures/idle-sockets';
import { keystrokeBaselineRows, keystrokeBaselines, keystrokeRows, keystrokeThrough } from './figures/keystroke';
import { sessionsFigure } from './figures/sessions';
import { throughputBaseline, throughputRow, throughputThrough } from './figures/throughput';
import type { OwnedProcesses } from './owned-processes';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile-summary';
import { unmeasured, type FigureRow } from './report';
import { attempt, type RunContext } from './run-context';
import { startClusterSystem, startEmbeddedSystem, type ClusterSystem, type EmbeddedSystem } from './systems';

/** Issue 8: embedded keystroke p50 within this much of bare Socket.IO (ms). */
const EMBEDDED_BUDGET_MS = 0.3;
/** Issue 8: keystroke p50 through nginx, two gateways and Redis within this much of bare Socket.IO (ms). */
const CLUSTER_BUDGET_MS = 1;

/** Everything that must be stopped however the run ends. */
export interface Running {
  owned: OwnedProcesses;
  cluster?: ClusterSystem;
  embedded?: EmbeddedSystem;
}

/** Stops the cluster (its own processes, by PID) and every process the benchmark started. */
export async function stopEverything(running: Running): Promise<void> {
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

/** Which figures this run measures, and the names the profiles give each process by PID. */
interface Plan {
  want(id: FigureId): boolean;
  pidNames: Map<number, string>;
}

/** The baselines measured before any system under test starts. */
interface Baselines {
  echoServer: EchoServer | undefined;
  echo: Awaited<ReturnType<typeof keystrokeBaselines>>;
  flood: number | undefined;
}

/** Every figure the settings ask for, baselines first, then embedded mode, then the cluster. */
export async function runFigures(config: BenchConfig, running: Running, context: RunContext): Promise<void> {
  const plan: Plan = { want: (id) => config.BENCH_FIGURES.includes(id), pidNames: new Map() };
  const baselines = await measureBaselines(plan, running, context);
  if (plan.want('keystroke') || plan.want('throughput')) await embeddedFigures(plan, baselines, running, context);
  const throughCluster: FigureId[] = ['keystroke', 'throughput', 'sessions', 'sockets', 'ai', 'fanout', 'gateways'];
  if (throughCluster.some(plan.want)) await clusterRun(config, plan, baselines, running, context);
  context.progress('stopping everything');
  await stopEverything(running);
  if (context.cpuProfileDir) context.details.profiles = summarizeProfiles(context.cpuProfileDir, plan.pidNames);
}

/**
 * Starts the bare Socket.IO echo server when a figure needs it, and measures the
 * keystroke and throughput baselines on a quiet machine: nothing of the system under
 * test runs yet.
 */
async function measureBaselines(plan: Plan, running: Running, context: RunContext): Promise<Baselines> {
  const { want } = plan;
  let echoServer: EchoServer | undefined;
  if (want('keystroke') || want('sockets')) {
    echoServer = await attempt(context, 'bare Socket.IO echo server', () =>
      startEchoServer(running.owned, context.env),
    );
    if (echoServer) plan.pidNames.set(echoServer.process.pid, 'bare Socket.IO echo server');
  }
  const echo = want('keystroke') ? await keystrokeBaselines(context, echoServer) : {};
  const flood = want('throughput') ? await throughputBaseline(context) : undefined;
  if (want('keystroke')) context.rows.push(...keystrokeBaselineRows(echo));
  return { echoServer, echo, flood };
}

/** Figures 1 and 2 through embedded mode, in a process of its own that is stopped after. */
async function embeddedFigures(plan: Plan, baselines: Baselines, running: Running, context: RunContext): Promise<void> {
  const { want } = plan;
  const rows = context.rows;
  context.progress('embedded mode: starting');
  const embedded = await attempt(context, 'embedded mode', () =>
    startEmbeddedSystem(running.owned, context.env, context.cpuProfileDir),
  );
  if (!embedded) {
    if (want('keystroke')) rows.push(...keystrokeRows('embedded', undefined, baselines.echo, EMBEDDED_BUDGET_MS));
    if (want('throughput')) rows.push(throughputRow('embedded', undefined, baselines.flood));
    return;
  }
  running.embedded = embedded;
  plan.pidNames.set(embedded.process.pid, 'embedded');
  if (want('keystroke')) {
    const summary = await keystrokeThrough(context, 'embedded', embedded.url, embedded.jwtSecret, 'bench-echo');
    rows.push(...keystrokeRows('embedded', summary, baselines.echo, EMBEDDED_BUDGET_MS));
  }
  if (want('throughput')) {
    const rate = await throughputThrough(context, 'embedded', embedded.url, embedded.jwtSecret, 'bench-flood');
    rows.push(throughputRow('embedded', rate, baselines.flood));
  }
  await embedded.process.stop();
  running.embedded = undefined;
}

/** Starts the AI stand-in if figure 5 is wanted, then the cluster, and measures its figures. */
async function clusterRun(
  config: BenchConfig,
  plan: Plan,
  baselines: Baselines,
  running: Running,
  context: RunContext,
): Promise<void> {
  let standinUrl: string | undefined;
  if (plan.want('ai')) {
    const standin = await attempt(context, 'Anthropic stand-in', () =>
      startScriptedStandin(running.owned, context.env, config.BENCH_AI_CHUNKS),
    );
    standinUrl = standin?.url;
  }
  context.progress('cluster: starting Redis, nginx, 2 gateways, terminal-, ai- and message-worker');
  const cluster = await attempt(context, 'cluster', () =>
    startClusterSystem(context.env, standinUrl, context.cpuProfileDir),
  );
  if (!cluster) {
    context.rows.push(...unmeasuredClusterRows(plan, baselines));
    return;
  }
  running.cluster = cluster;
  for (const info of cluster.cluster.processes()) plan.pidNames.set(info.pid, info.name);
  await clusterFigures(plan, baselines, cluster, standinUrl, context);
}

/** Figures 1–7 through the running cluster, each as the settings ask (7 last: it adds gateways). */
async function clusterFigures(
  plan: Plan,
  baselines: Baselines,
  cluster: ClusterSystem,
  standinUrl: string | undefined,
  context: RunContext,
): Promise<void> {
  const { want } = plan;
  const rows = context.rows;
  const secret = cluster.cluster.jwtSecret;
  if (want('keystroke')) {
    const summary = await keystrokeThrough(context, 'cluster', cluster.url, secret, 'bench-echo');
    rows.push(...keystrokeRows('cluster', summary, baselines.echo, CLUSTER_BUDGET_MS));
  }
  if (want('throughput')) {
    const rate = await throughputThrough(context, 'cluster', cluster.url, secret, 'bench-flood');
    rows.push(throughputRow('cluster', rate, baselines.flood));
  }
  if (want('sessions')) rows.push(...(await sessionsFigure(context, cluster)));
  if (want('sockets')) rows.push(...(await idleSocketsFigure(context, cluster, baselines.echoServer)));
  if (want('ai')) {
    rows.push(
      ...(standinUrl
        ? await aiRelayFigure(context, cluster.url, secret, standinUrl)
        : [unmeasured(5, 'ai', 'AI relay overhead', 'the Anthropic stand-in did not start')]),
    );
  }
  if (want('fanout')) rows.push(...(await fanoutFigure(context, cluster)));
  if (want('gateways')) rows.push(...(await gatewayIsolationFigure(context, cluster)));
}

/** The cluster's rows when it did not start: every wanted figure, unmeasured. */
function unmeasuredClusterRows(plan: Plan, baselines: Baselines): FigureRow[] {
  const { want } = plan;
  const reason = 'the cluster did not start (see problems)';
  return [
    ...(want('keystroke') ? keystrokeRows('cluster', undefined, baselines.echo, CLUSTER_BUDGET_MS) : []),
    ...(want('throughput') ? [throughputRow('cluster', undefined, baselines.flood)] : []),
    ...(want('sessions') ? [unmeasured(3, 'sessions', 'sessions per terminal-worker', reason)] : []),
    ...(want('sockets') ? [unmeasured(4, 'sockets', 'idle sockets per gateway', reason)] : []),
    ...(want('ai') ? [unmeasured(5, 'ai', 'AI relay overhead', reason)] : []),
    ...(want('fanout') ? [unmeasured(6, 'fanout', 'message fan-out', reason)] : []),
    ...(want('gateways') ? [unmeasured(7, 'gateways', 'gateway CPU for output it does not deliver', reason)] : []),
  ];
}
