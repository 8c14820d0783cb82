/**
 * The launcher itself dies (issue 22): killed outright, or killed while it stops, with
 * Redis up or down. Every process it started (Redis, nginx, the stand-in, gateways,
 * workers) and every shell those started must be gone within 5 s, though nothing is
 * left to stop them in order and nothing reads their output any more.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS } from '@ctos/runtime';
import { type ClientSocket, connectClient, OutputCollector, waitFor, waitForValue } from '@ctos/testkit';
import type { ClusterProcessInfo } from '../src/cluster';
import { type FaultCluster, slowReplyPrompt, startFaultCluster } from './faults-support';

const MAIN = path.join(__dirname, '..', 'dist', 'cluster-main.js');

/** The promise of issue 22: no process of the launcher's tree is left after this long (ms). */
const ORPHANS_GONE_MS = 5000;

/** The services, each of which must drain by itself. */
const SERVICE_ROLES: readonly ClusterProcessInfo['role'][] = [
  'gateway',
  'terminal-worker',
  'ai-worker',
  'message-worker',
];

/** One process as /proc shows it; `started` (clock ticks since boot) tells a reused pid apart. */
interface ProcessEntry {
  pid: number;
  ppid: number;
  started: string;
  state: string;
  name: string;
}

/** Every process on the machine, from /proc/PID/stat (proc(5)). */
function processTable(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readStat(Number(name));
    if (entry) entries.push(entry);
  }
  return entries;
}

function readStat(pid: number): ProcessEntry | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // The name is in parentheses and may hold spaces or parentheses: fields follow the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return {
    pid,
    name: stat.slice(stat.indexOf('(') + 1, close),
    state: fields[0]!,
    ppid: Number(fields[1]),
    started: fields[19]!,
  };
}

/** `root` and every process below it, now. */
function descendants(root: number): ProcessEntry[] {
  const table = processTable();
  const found: ProcessEntry[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of table) {
      if (parents.has(entry.ppid) && !parents.has(entry.pid)) {
        parents.add(entry.pid);
        found.push(entry);
        grew = true;
      }
    }
  }
  return found;
}

/** Still running: the same process (same start time) and not a zombie waiting for init to reap it. */
function stillRunning(entry: ProcessEntry): boolean {
  const now = readStat(entry.pid);
  return now !== undefined && now.started === entry.started && now.state !== 'Z';
}

interface RunningLauncher {
  child: ChildProcess;
  printed: () => string;
  socket: ClientSocket;
  stateDir: string;
}

/** `npm run cluster` as a supervisor starts it, with a shell running in one terminal session. */
async function startLauncher(): Promise<RunningLauncher> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      CLUSTER_GATEWAYS: '1',
      CLUSTER_TERMINAL_WORKERS: '1',
      CLUSTER_AI_WORKERS: '1',
      CLUSTER_MESSAGE_WORKERS: '1',
      TERMINAL_ISOLATION: 'none', // no accounts to clean up after a launcher that cannot
      TERMINAL_SHELL: '/bin/bash',
      TERMINAL_SHELL_ARGS: '--norc --noprofile',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.push(child);
  let printed = '';
  child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const url = await waitForValue(() => /URL:\s+(\S+)/.exec(printed)?.[1], { timeoutMs: 60_000, message: 'the URL' });
  const token = /localStorage\.setItem\('ctos\.token', '([^']+)'\)/.exec(printed)![1]!;
  const stateDir = path.dirname(/processes:\s+(\S+)/.exec(printed)![1]!);
  stateDirs.push(stateDir);
  const socket = await connectClient(url!, token);
  sockets.push(socket);
  const created = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
  if (!created.success) throw new Error(`create failed: ${created.code}`);
  const out = new OutputCollector(socket, created.session_id);
  socket.emit('terminal:input', { session_id: created.session_id, data: 'sleep 86400 & echo job-started\r' });
  await out.waitForText(/job-started\r\n/);
  return { child, printed: () => printed, socket, stateDir };
}

const launched: ChildProcess[] = [];
const sockets: ClientSocket[] = [];
const stateDirs: string[] = [];
/** What each test found below its launcher: killed by pid after a failed test, never by name. */
let tree: ProcessEntry[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
  for (const entry of tree.filter(stillRunning)) process.kill(entry.pid, 'SIGKILL');
  tree = [];
  for (const child of launched.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of stateDirs.splice(0)) spawnSync('rm', ['-rf', dir]);
});

describe('when the cluster launcher dies', () => {
  it.each([
    ['SIGKILL', 'Redis up'],
    ['SIGINT, then SIGKILL while it stops', 'Redis up'],
    ['SIGKILL', 'Redis killed first'],
  ])('%s (%s): every process it started, and their shells, are gone within 5 s', async (how, redis) => {
    const launcher = await startLauncher();
    // What the tree holds: the services (node), Redis, nginx, and the session's shell and its
    // job (bash prints job-started while its forked child may not have become sleep yet).
    const expected = ['node', 'redis-server', 'nginx', 'bash', 'sleep'];
    tree = await waitForValue(
      () => {
        const found = descendants(launcher.child.pid!);
        return expected.every((name) => found.some((entry) => entry.name === name)) ? found : undefined;
      },
      { message: `the launcher's tree to hold ${expected.join(', ')}` },
    );
    if (redis === 'Redis killed first') {
      const server = tree.find((entry) => entry.name === 'redis-server')!;
      process.kill(server.pid, 'SIGKILL');
      await waitFor(() => !stillRunning(server), { message: 'Redis to be gone' });
    }
    if (how.startsWith('SIGINT')) {
      launcher.child.kill('SIGINT');
      await waitFor(() => launcher.printed().includes('"msg":"shutting down"'), { message: 'the launcher to stop' });
    }
    launcher.child.kill('SIGKILL');
    await waitFor(() => launcher.child.signalCode === 'SIGKILL', { message: 'the launcher to die' });
    const left = () => tree.filter(stillRunning).map((entry) => `${entry.name} (${entry.pid})`);
    await waitFor(() => left().length === 0, { timeoutMs: ORPHANS_GONE_MS }).catch(() => undefined);
    expect(left()).toEqual([]);
  });
});

/** The JSON log lines of `name` from `from` on. */
function records(fault: FaultCluster, name: string, from: number): Array<Record<string, unknown>> {
  return (fault.lines.get(name) ?? []).slice(from).flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** What a drain may never log: each is a stop that went wrong. */
const DRAIN_FAULTS = [
  'unhandled promise rejection',
  'uncaught exception; exiting',
  'shutdown timed out; exiting',
  'shutdown failed',
];

/**
 * Redis killed (connections refused) or paused (SIGSTOP: connections stay up and nothing
 * answers, as behind a network partition): each drain bounds its waits on Redis.
 */
const REDIS_FAULTS = [
  {
    name: 'killed',
    fault: (fault: FaultCluster) => fault.cluster.signal('redis', 'SIGKILL'),
    // Back before the stop, so the launcher can list and remove the accounts it created.
    repair: async (fault: FaultCluster) => void (await fault.cluster.restartRedis()),
  },
  {
    name: 'paused',
    fault: (fault: FaultCluster) => fault.cluster.signal('redis', 'SIGSTOP'),
    repair: (fault: FaultCluster) => fault.cluster.signal('redis', 'SIGCONT'),
  },
] as const;

describe.each(REDIS_FAULTS)(
  'SIGTERM to each process while Redis is $name, its output read by the launcher',
  ({ fault: cut, repair }) => {
    it('every gateway and worker drains and exits 0 by itself within its cap, and logs once what it could not hand off', async () => {
      const fault = await startFaultCluster();
      const socket = await connectClient(fault.cluster.url, await fault.cluster.signToken('drain-user'));
      let repaired = false;
      try {
        // A live terminal and a reply still streaming: each has something to hand off.
        const created = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
        if (!created.success) throw new Error(`create failed: ${created.code}`);
        const out = new OutputCollector(socket, created.session_id);
        socket.emit('terminal:input', { session_id: created.session_id, data: 'echo shell-ready\r' });
        await out.waitForText(/shell-ready\r\n/);
        let messageId: string | undefined;
        socket.on('ai:stream:chunk', (event) => (messageId = event.message_id));
        const sent = await socket.emitWithAck('ai:message', {
          conversation_id: 'drain-c',
          content: slowReplyPrompt(1000, 20),
        });
        if (!sent.success) throw new Error(`ai:message failed: ${sent.code}`);
        const reply = await waitForValue(() => messageId, { message: 'the reply to stream' });

        await cut(fault);
        const services = fault.cluster.processes().filter((p) => SERVICE_ROLES.includes(p.role) && !p.exit);
        expect(new Set(services.map((p) => p.role))).toEqual(new Set(SERVICE_ROLES));
        const from = new Map(services.map((p) => [p.name, fault.lines.get(p.name)?.length ?? 0]));
        for (const service of services) await fault.cluster.signal(service.name, 'SIGTERM');
        // The launcher would SIGKILL only when stopping; here nothing but the drain can end them.
        const exits = await waitForValue(
          () => {
            const now = fault.cluster.processes().filter((p) => services.some((s) => s.name === p.name));
            return now.every((p) => p.exit) ? now.map((p) => ({ name: p.name, ...p.exit })) : undefined;
          },
          { timeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS, message: 'every service to exit' },
        );
        await repair(fault);
        repaired = true;
        expect(exits).toEqual(services.map((p) => ({ name: p.name, code: 0, signal: null })));

        const logs = new Map(services.map((p) => [p.name, records(fault, p.name, from.get(p.name)!)]));
        const faults = [...logs].flatMap(([name, lines]) =>
          lines.filter((line) => DRAIN_FAULTS.includes(String(line.msg))).map((line) => `${name}: ${String(line.msg)}`),
        );
        expect(faults).toEqual([]);
        // Each process says once what it could not hand off, naming it; the rest say nothing.
        const missed = (role: ClusterProcessInfo['role']) =>
          services
            .filter((p) => p.role === role)
            .map((p) =>
              logs
                .get(p.name)!
                .filter((line) => line.msg === 'could not hand off')
                .map((line) => line.missed),
            )
            .filter((lines) => lines.length > 0);
        const session = created.session_id;
        expect(missed('gateway')).toEqual([[{ detach: [session] }]]);
        expect(missed('terminal-worker')).toEqual([[{ closed: [session], directory: [session] }]]);
        expect(missed('ai-worker')).toEqual([[{ reply: [reply] }]]);
        expect(missed('message-worker')).toEqual([]);
      } finally {
        socket.close();
        if (!repaired) await repair(fault).catch(() => undefined);
        await fault.stop();
      }
    });
  },
);
