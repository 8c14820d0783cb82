import { connectClient, signToken, type ClientSocket } from '@ctos/testkit';
import { childPids, pssKiB, rssKiB } from '../process-memory';
import { measureSpawns } from '../pty-baseline';
import { TODAY } from '../config';
import type { FigureRow } from '../report';
import { attempt, type RunContext } from '../run-context';
import { summarize } from '../stats';
import type { ClusterSystem } from '../systems';
import { closeTerminal, createTerminal } from '../terminal-client';
import { countFloor, rssPerItemRow } from './memory-row';

/** The terminal-worker's default sessions per user (TERMINAL_MAX_SESSIONS_PER_USER): we spread over users, not raise it. */
const SESSIONS_PER_USER = 10;
/** Issue 8: creating a session takes at most this long at p50 (ms). */
const MAX_CREATE_P50_MS = 50;
/** In-process `pty.spawn` calls timed for the baseline. */
const BASELINE_SPAWNS = 50;
/** How long RSS is left to settle after the last create before it is read (ms). */
const SETTLE_MS = 2000;
/** How long the worker may take to end every shell after the sessions are closed (ms). */
const CLOSE_TIMEOUT_MS = 30_000;
/** How often the teardown looks whether the worker's shells are gone (ms). */
const SHELLS_GONE_POLL_MS = 200;
/** A progress line every this many sessions opened. */
const PROGRESS_EVERY = 250;
/** Creates at each end of the run whose p50s are compared: does creating slow down as sessions pile up? */
const EDGE_CREATES = 100;

/** What figure 3 measured. */
interface SessionsMeasurement {
  opened: number;
  refusal?: string;
  createMs: ReturnType<typeof summarize>;
  createFirst100P50: number;
  createLast100P50: number;
  workerRssBeforeKiB: number;
  workerRssAfterKiB: number;
  rssPerSessionKiB: number;
  shells: number;
  shellPssPerSessionKiB: number;
  spawnMs: ReturnType<typeof summarize>;
}

/** The sockets (one user each) and the sessions opened through them: what the teardown closes. */
interface OpenedSessions {
  sockets: ClientSocket[];
  created: Array<{ socket: ClientSocket; sessionId: string }>;
}

/**
 * Figure 3: opens idle sessions on the cluster's one terminal-worker until
 * BENCH_SESSIONS (or until it refuses), then reads the worker's RSS and its shells' PSS
 * from /proc, and closes them all again.
 */
export async function sessionsFigure(context: RunContext, system: ClusterSystem): Promise<FigureRow[]> {
  const target = context.config.BENCH_SESSIONS;
  const workerPid = system.terminalWorker.pid;
  context.progress(`3 sessions: ${target} idle sessions on terminal-worker pid ${workerPid}`);
  const measured = await attempt(context, 'sessions per worker', async (): Promise<SessionsMeasurement> => {
    const spawnMs = summarize(measureSpawns(BASELINE_SPAWNS));
    const opened: OpenedSessions = { sockets: [], created: [] };
    try {
      return { ...(await measureSessions(context, system, opened)), spawnMs };
    } finally {
      await closeSessions(context, workerPid, opened);
    }
  });
  context.details.sessions = measured;
  return sessionsRows(target, measured);
}

/**
 * Connects the users, opens the sessions (recording each in `opened` as it goes, for the
 * teardown), waits for RSS to settle and reads the worker's memory and its shells'.
 */
async function measureSessions(
  context: RunContext,
  system: ClusterSystem,
  opened: OpenedSessions,
): Promise<Omit<SessionsMeasurement, 'spawnMs'>> {
  const target = context.config.BENCH_SESSIONS;
  const workerPid = system.terminalWorker.pid;
  const users = Math.ceil(target / SESSIONS_PER_USER) + 1; // one more, to try past capacity
  for (let i = 0; i < users; i++) {
    opened.sockets.push(
      await connectClient(system.url, await signToken(`sessions-${i}`, { secret: system.cluster.jwtSecret })),
    );
  }
  const before = rssKiB(workerPid);
  const { times, refusal } = await openUntilRefused(context, opened, target);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const after = rssKiB(workerPid);
  const shells = childPids(workerPid);
  const shellPss = totalPssKiB(shells);
  return {
    opened: times.length,
    ...(refusal ? { refusal } : {}),
    createMs: summarize(times),
    createFirst100P50: summarize(times.slice(0, EDGE_CREATES)).p50,
    createLast100P50: summarize(times.slice(-EDGE_CREATES)).p50,
    workerRssBeforeKiB: before,
    workerRssAfterKiB: after,
    rssPerSessionKiB: (after - before) / opened.created.length,
    shells: shells.length,
    shellPssPerSessionKiB: shells.length > 0 ? shellPss / shells.length : 0,
  };
}

/**
 * Opens `target` sessions, SESSIONS_PER_USER per user, then one more on the spare user.
 * @returns each create's time (ms) and why opening ended: the first refusal, or what the
 * worker did with the session past the target (undefined only if it was never tried).
 */
async function openUntilRefused(
  context: RunContext,
  opened: OpenedSessions,
  target: number,
): Promise<{ times: number[]; refusal: string | undefined }> {
  const { sockets, created } = opened;
  const times: number[] = [];
  let refusal: string | undefined;
  for (let i = 0; i < target; i++) {
    const socket = sockets[Math.floor(i / SESSIONS_PER_USER)]!;
    try {
      const { sessionId, ms } = await createTerminal(socket, false);
      created.push({ socket, sessionId });
      times.push(ms);
    } catch (error) {
      refusal = `refused after ${created.length}: ${(error as { code?: string }).code ?? (error as Error).message}`;
      break;
    }
    if (i > 0 && i % PROGRESS_EVERY === 0) context.progress(`  ${i} sessions`);
  }
  if (!refusal) {
    // One past the target: a worker at capacity should refuse, not fork for ever.
    const spare = sockets[sockets.length - 1]!;
    await createTerminal(spare, false).then(
      ({ sessionId }) => {
        created.push({ socket: spare, sessionId });
        refusal = `session ${target + 1} was accepted too (the worker's TERMINAL_WORKER_CAPACITY is above ${target})`;
      },
      (error: { code?: string; message: string }) => {
        refusal = `session ${target + 1} refused at capacity: ${error.code ?? error.message}`;
      },
    );
  }
  return { times, refusal };
}

/** The PSS of `pids` added up (KiB); a process that ended between listing and reading adds nothing. */
function totalPssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += pssKiB(pid);
    } catch {
      // A shell that ended between listing and reading adds nothing.
    }
  }
  return total;
}

/**
 * Closes every session opened and every socket, then waits (at most CLOSE_TIMEOUT_MS) for
 * the worker's shells to be gone; how long each took goes into the details.
 */
async function closeSessions(context: RunContext, workerPid: number, opened: OpenedSessions): Promise<void> {
  const { sockets, created } = opened;
  context.progress(`  closing ${created.length} sessions`);
  const closing = performance.now();
  await Promise.all(
    sockets.map(async (socket) => {
      for (const entry of created.filter((c) => c.socket === socket)) {
        await closeTerminal(socket, entry.sessionId).catch(() => undefined); // the drain at the end closes any left
      }
    }),
  );
  const closed = performance.now();
  for (const socket of sockets) socket.close();
  const deadline = Date.now() + CLOSE_TIMEOUT_MS;
  while (childPids(workerPid).length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SHELLS_GONE_POLL_MS));
  }
  context.details.sessions_teardown = {
    close_acks_ms: Math.round(closed - closing),
    shells_gone_ms: Math.round(performance.now() - closed),
    shells_left: childPids(workerPid).length,
  };
}

/** Figure 3's rows: sessions opened, worker RSS per session, time to create one. */
function sessionsRows(asked: number, measured: SessionsMeasurement | undefined): FigureRow[] {
  const floor = countFloor(TODAY.sessionsPerWorker, asked);
  return [
    {
      key: 'sessions.opened',
      figure: 3,
      label: 'idle sessions opened on one terminal-worker',
      value: measured?.opened ?? null,
      unit: 'sessions',
      baseline: null,
      baselineLabel: '',
      comparison: 'absolute',
      target: floor.target,
      met: measured ? measured.opened >= floor.least : null,
      ...(measured?.refusal ? { note: measured.refusal } : {}),
    },
    rssPerItemRow(
      {
        key: 'sessions.rss_per_session',
        figure: 3,
        label: 'worker RSS per idle session (shells excluded)',
        server: 'worker',
        baseline: measured?.shellPssPerSessionKiB ?? null,
        baselineLabel: '(PSS of one shell)',
        todayKiB: TODAY.rssPerSessionKiB,
      },
      measured && {
        perItemKiB: measured.rssPerSessionKiB,
        beforeKiB: measured.workerRssBeforeKiB,
        afterKiB: measured.workerRssAfterKiB,
        noteSuffix: ` for ${measured.opened} sessions; ${measured.shells} shells`,
      },
    ),
    {
      key: 'sessions.create_p50',
      figure: 3,
      label: 'time to create a session, p50',
      value: measured?.createMs.p50 ?? null,
      unit: 'ms',
      baseline: measured?.spawnMs.p50 ?? null,
      baselineLabel: '(pty.spawn in-process)',
      comparison: 'ratio',
      target: `≤ ${MAX_CREATE_P50_MS} ms`,
      met: measured ? measured.createMs.p50 <= MAX_CREATE_P50_MS : null,
      ...(measured
        ? {
            note: `p99 ${measured.createMs.p99.toFixed(1)} ms; p50 of the first ${EDGE_CREATES} ${measured.createFirst100P50.toFixed(1)} ms, of the last ${EDGE_CREATES} ${measured.createLast100P50.toFixed(1)} ms`,
          }
        : {}),
    },
  ];
}
