import { randomUUID } from 'node:crypto';
import {
  rooms,
  ServiceError,
  terminalBusMessageSchema,
  type BusHandlers,
  type TerminalBusMessage,
  type TerminalBusReplies,
  type TerminalCloseReason,
  type TerminalSessionInfo,
} from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import { dispatchBus, SessionDirectory, type AnnouncementHandle, type Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import type { TerminalWorkerConfig } from './config';
import { createTerminalWorkerMetrics } from './metrics';
import { signalSession } from './process-tree';
import { TerminalSession, type SessionLimits } from './session';
import { announceClosed } from './closed-announcement';
import { noIsolation, userIsolation, type ShellIsolation } from './shell-isolation';

/** After SIGHUP, what is left of a closed session's processes is killed this much later (ms). */
const KILL_GRACE_MS = 1000;

/** What {@link createTerminalWorker} needs. */
export interface TerminalWorkerDeps {
  id: string;
  transport: Transport;
  config: TerminalWorkerConfig;
  logger: Logger;
  metrics: Registry;
  /** How shells are started; default from `TERMINAL_ISOLATION`. */
  isolation?: ShellIsolation;
}

/** A running terminal-worker. */
export interface TerminalWorker {
  readonly id: string;
  /** Live sessions by id (read-only view, for tests and metrics). */
  readonly sessions: ReadonlyMap<string, TerminalSession>;
  /** Starts reading the inbox and heartbeating. */
  start(): void;
  /** Stops taking sessions, closes its own with reason `shutdown`, and leaves the registry. */
  drain(): Promise<void>;
}

/**
 * The terminal-worker: owns PTY sessions and answers the gateways' terminal messages
 * (see `TerminalBusMessage` in @ctos/protocol). Errors it produces: `NOT_FOUND` (unknown
 * or another user's session), `LIMIT_EXCEEDED` (sessions per user), `UNAVAILABLE`
 * (draining), `INVALID_PAYLOAD` (a malformed bus message).
 */
export function createTerminalWorker(deps: TerminalWorkerDeps): TerminalWorker {
  const { transport, config, id } = deps;
  const logger = deps.logger.child({ worker: id });
  const directory = new SessionDirectory(transport.store, 'term');
  const sessions = new Map<string, TerminalSession>();
  const killTimers = new Map<NodeJS.Timeout, { pid: number; user: string; uid: number }>();
  const closing = new Set<Promise<void>>();
  const limits: SessionLimits = {
    replayBytes: config.TERMINAL_REPLAY_BYTES,
    flowHighBytes: config.TERMINAL_FLOW_HIGH_BYTES,
    flowLowBytes: config.TERMINAL_FLOW_LOW_BYTES,
    idleTimeoutMs: config.TERMINAL_IDLE_TIMEOUT_MS,
    coalesceMs: config.TERMINAL_COALESCE_MS,
    flowStallMs: config.TERMINAL_FLOW_STALL_MS,
    scrollback: config.TERMINAL_SCROLLBACK_LINES,
  };
  const isolation =
    deps.isolation ??
    (config.TERMINAL_ISOLATION === 'user' ? userIsolation(config, transport.store, logger) : noIsolation(config));
  let announcement: AnnouncementHandle | undefined;
  let draining = false;
  let stopDeathWatch: (() => void) | undefined;

  const metrics = createTerminalWorkerMetrics(deps.metrics, () => sessions.values());

  /** Creates under way per user, counted until their directory entry is written. */
  const creating = new Map<string, number>();
  let creatingTotal = 0;

  /** True while `user` has a session here, or one being created. */
  const present = (user: string): boolean =>
    creating.has(user) || [...sessions.values()].some((session) => session.user === user);
  /** Users whose last close came while a create of theirs was under way: decided when it ends. */
  const goneUnlessCreated = new Set<string>();

  /** `user` has nothing left here: end what they left behind (never throws: a timer calls it). */
  const userGone = (user: string): void => {
    if (present(user)) {
      // Another session of theirs ends them later; a create under way decides when it ends.
      if (creating.has(user)) {
        logger.debug({ user_id: user }, 'last close during a create: decided when it ends');
        goneUnlessCreated.add(user);
      }
      return;
    }
    goneUnlessCreated.delete(user);
    try {
      isolation.userGone(user);
    } catch (error) {
      logger.error({ err: error, user_id: user }, 'could not end what a user left running');
    }
  };

  /** After the grace: what is left of the session dies, and the user's last processes when it was their last. */
  const finish = (pid: number, user: string, uid: number): void => {
    signalSession(pid, 'SIGKILL', uid);
    userGone(user);
  };

  const killLater = (pid: number, user: string, uid: number): void => {
    const timer = setTimeout(() => {
      killTimers.delete(timer);
      finish(pid, user, uid);
    }, KILL_GRACE_MS);
    killTimers.set(timer, { pid, user, uid });
  };

  const onClosed = (
    session: TerminalSession,
    reason: TerminalCloseReason,
    exitCode?: number,
    signal?: number,
  ): void => {
    sessions.delete(session.id);
    announcement?.touch();
    metrics.closed.inc({ reason });
    signalSession(session.pid, 'SIGHUP', session.uid);
    killLater(session.pid, session.user, session.uid);
    logger.info({ session_id: session.id, user_id: session.user, reason, exit_code: exitCode }, 'session closed');
    const done = announceClosed({
      emit: (event) => transport.emitter.emit(rooms.terminal(session.id), 'terminal:closed', event),
      removeFromDirectory: () => directory.remove({ session_id: session.id, user: session.user, worker: id }),
      event: {
        session_id: session.id,
        reason,
        ...(exitCode === undefined ? {} : { exit_code: exitCode }),
        ...(signal === undefined ? {} : { signal }),
      },
      giveUp: () => draining,
      onRemoveFailed: (error) =>
        logger.warn({ err: error, session_id: session.id }, 'could not remove session from the directory; retrying'),
    });
    closing.add(done);
    void done.finally(() => closing.delete(done));
  };

  const host = {
    emitOutput: (event: { session_id: string; data: string; seq: number }) => {
      metrics.outputBytes.inc(event.data.length);
      return transport.emitter.emit(rooms.terminal(event.session_id), 'terminal:output', event);
    },
    onClosed,
  };

  /** The session, if it exists here and belongs to `user`; else `NOT_FOUND`. */
  const owned = (sessionId: string, user: string): TerminalSession => {
    const session = sessions.get(sessionId);
    if (!session || session.user !== user) throw new ServiceError('NOT_FOUND', 'No such terminal session.');
    return session;
  };

  const create = async (m: Extract<TerminalBusMessage, { op: 'create' }>) => {
    if (draining) throw new ServiceError('UNAVAILABLE', 'This terminal worker is shutting down; try again.');
    if (sessions.size + creatingTotal >= config.TERMINAL_WORKER_CAPACITY) {
      throw new ServiceError('UNAVAILABLE', 'This terminal worker is full; try again.');
    }
    // Counted before the first await, so concurrent creates see each other (the directory
    // only knows a session once it is registered).
    const mine = (creating.get(m.user) ?? 0) + 1;
    creating.set(m.user, mine);
    creatingTotal++;
    try {
      return await createCounted(m, mine - 1);
    } finally {
      creatingTotal--;
      const left = (creating.get(m.user) ?? 1) - 1;
      if (left > 0) creating.set(m.user, left);
      else {
        creating.delete(m.user);
        // Their last session closed while this create ran, and it made none: end what is left now.
        if (goneUnlessCreated.has(m.user)) userGone(m.user);
      }
    }
  };

  const createCounted = async (m: Extract<TerminalBusMessage, { op: 'create' }>, othersCreating: number) => {
    const existing = (await directory.forUser(m.user)).length + othersCreating;
    if (existing >= config.TERMINAL_MAX_SESSIONS_PER_USER) {
      throw new ServiceError(
        'LIMIT_EXCEEDED',
        `You already have ${existing} terminal sessions open (the limit is ${config.TERMINAL_MAX_SESSIONS_PER_USER}); close one first.`,
      );
    }
    const shell = await isolation.shellFor(m.user);
    const sessionId = randomUUID();
    let session: TerminalSession;
    try {
      session = new TerminalSession(sessionId, m.user, shell, m.cols, m.rows, limits, host);
    } catch (error) {
      logger.error({ err: error, user_id: m.user }, 'could not start a shell');
      throw new ServiceError('INTERNAL', 'The shell could not be started; the operator has been told.');
    }
    session.attachCreator(m.socket, m.gateway, m.flow_control);
    sessions.set(sessionId, session);
    announcement?.touch();
    try {
      await directory.register({
        session_id: sessionId,
        worker: id,
        user: m.user,
        created_at: session.createdAt.toISOString(),
      });
    } catch (error) {
      // The client hears a refusal and never learns the id: a session left running would
      // be attached to its socket for ever, out of everyone's reach.
      session.close('closed');
      throw error;
    }
    logger.info({ session_id: sessionId, user_id: m.user, pid: session.pid }, 'session created');
    return { session_id: sessionId, created_at: session.createdAt.toISOString(), worker: id };
  };

  /** One handler per terminal operation (`TerminalBusReplies` gives each reply's type). */
  const handlers: BusHandlers<TerminalBusMessage, TerminalBusReplies> = {
    create,
    attach: async (m) => {
      const session = owned(m.session_id, m.user);
      const replay = await session.attach(m.socket, m.gateway, m.flow_control, m.since);
      return {
        session_id: session.id,
        created_at: session.createdAt.toISOString(),
        cols: session.cols,
        rows: session.rows,
        ...replay,
      };
    },
    release: (m) => sessions.get(m.session_id)?.release(m.socket),
    input: (m) => sessions.get(m.session_id)?.write(m.data),
    resize: (m) => sessions.get(m.session_id)?.resize(m.cols, m.rows),
    ack: (m) => sessions.get(m.session_id)?.ack(m.socket, m.seq),
    detach: (m) => sessions.get(m.session_id)?.detach(m.socket),
    close: (m) => {
      owned(m.session_id, m.user).close('closed');
      return {};
    },
    info: (m) => {
      const infos: TerminalSessionInfo[] = [];
      for (const sessionId of m.session_ids) {
        const session = sessions.get(sessionId);
        if (session && session.user === m.user) infos.push(session.info());
      }
      return infos;
    },
  };

  const handle = (body: unknown): unknown => {
    const parsed = terminalBusMessageSchema.safeParse(body);
    if (!parsed.success) throw new ServiceError('INVALID_PAYLOAD', 'Malformed terminal message.');
    return dispatchBus(handlers, parsed.data);
  };

  /**
   * The registry had lost this worker. Declared dead (it was unreachable for longer than
   * the deadline): its clients were told `worker_lost` and its directory entries are gone,
   * so its sessions are closed for real rather than left running where nobody can reach
   * them. Forgotten (Redis lost its data): the sessions are fine, and are registered again.
   */
  const rejoined = (reason: 'declared-dead' | 'forgotten'): void => {
    if (reason === 'declared-dead') {
      logger.warn({ sessions: sessions.size }, 'this worker was declared dead while alive; closing its sessions');
      for (const session of [...sessions.values()]) session.close('worker_lost');
      return;
    }
    logger.warn({ sessions: sessions.size }, 'the registry had lost this worker; registering its sessions again');
    for (const session of sessions.values()) {
      directory
        .register({
          session_id: session.id,
          worker: id,
          user: session.user,
          created_at: session.createdAt.toISOString(),
        })
        .catch((error: unknown) =>
          logger.warn({ err: error, session_id: session.id }, 'could not register a session again'),
        );
    }
  };

  return {
    id,
    sessions,
    start() {
      transport.bus.serve(handle);
      announcement = transport.registry.announce({
        id,
        kind: 'terminal',
        capacity: config.TERMINAL_WORKER_CAPACITY,
        load: () => sessions.size,
        onRejoined: rejoined,
      });
      stopDeathWatch = transport.registry.onDeath((dead) => {
        if (dead.kind !== 'gateway') return;
        for (const session of sessions.values()) session.detachGateway(dead.id);
      });
      logger.info(
        { capacity: config.TERMINAL_WORKER_CAPACITY, isolation: config.TERMINAL_ISOLATION },
        'terminal worker started',
      );
    },
    async drain() {
      draining = true;
      stopDeathWatch?.();
      // Leave the registry first, so no gateway places a session here while we close.
      await announcement?.dispose();
      for (const session of [...sessions.values()]) session.close('shutdown');
      await Promise.all([...closing]);
      // The process exits next: kill now what would have been killed after the grace.
      for (const [timer, { pid, user, uid }] of killTimers) {
        clearTimeout(timer);
        finish(pid, user, uid);
      }
      killTimers.clear();
      isolation.dispose();
    },
  };
}
