import {
  DisposableStore,
  rooms,
  ServiceError,
  terminalBusMessageSchema,
  type TerminalBusReplies,
  type TerminalCloseReason,
} from '@ctos/protocol';
import { HandoffReport, pendingAfter, type Logger } from '@ctos/runtime';
import { dispatchBus, SessionDirectory, type AnnouncementHandle, type Transport } from '@ctos/transport';
import type { Registry } from 'prom-client';
import { announceClosed } from './closed-announcement';
import type { TerminalWorkerConfig } from './config';
import { createTerminalWorkerMetrics, type TerminalWorkerMetrics } from './metrics';
import { TerminalSession, type SessionHost, type SessionLimits } from './session';
import { SessionReaper } from './session-reaper';
import { noIsolation, userIsolation, type ShellIsolation } from './shell-isolation';
import { terminalHandlers, type CreateMessage, type RunMessage } from './terminal-handlers';
import { CommandRuns } from './command-runs';
import { SessionRecordings } from './session-recordings';
import { SessionStarts } from './session-starts';
import { UserPresence } from './user-presence';

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
  /**
   * Stops taking sessions, leaves the registry, refuses the creates under way (and waits
   * for them), closes its sessions with reason `shutdown`. Once it resolves, no shell of
   * this worker runs. A second call waits for the first.
   */
  drain(): Promise<void>;
}

/**
 * The terminal-worker: owns PTY sessions and answers the gateways' terminal messages, and
 * the ai-workers' `run`, `outcome` and `screen` (see `TerminalBusMessage` in @ctos/protocol). Errors it produces: `NOT_FOUND` (unknown
 * or another user's session), `LIMIT_EXCEEDED` (sessions per user), `UNAVAILABLE`
 * (draining, full, or the user's Unix account could not be prepared), `INTERNAL` (the
 * shell could not be started), `INVALID_PAYLOAD` (a malformed bus message).
 */
export function createTerminalWorker(deps: TerminalWorkerDeps): TerminalWorker {
  return new TerminalWorkerService(deps);
}

/** {@link createTerminalWorker}'s worker: sessions, their directory entries and their end. */
class TerminalWorkerService implements TerminalWorker {
  readonly id: string;
  readonly sessions = new Map<string, TerminalSession>();
  private readonly transport: Transport;
  private readonly config: TerminalWorkerConfig;
  private readonly logger: Logger;
  private readonly directory: SessionDirectory;
  private readonly metrics: TerminalWorkerMetrics;
  private readonly isolation: ShellIsolation;
  private readonly presence: UserPresence;
  private readonly reaper: SessionReaper;
  /** Commands run for the assistant, until their outcome is collected. */
  private readonly runs = new CommandRuns();
  private readonly recordings: SessionRecordings;
  private readonly starts: SessionStarts;
  /** What {@link start} subscribes to, released first by {@link drain}, in reverse. */
  private readonly owned = new DisposableStore();
  /** `terminal:closed` announcements still being retried, by session id. */
  private readonly closing = new Map<string, Promise<void>>();
  private announcement: AnnouncementHandle | undefined;
  private draining = false;
  /** Closures the drain could not announce or remove from the directory (Redis unreachable). */
  private readonly handoff = new HandoffReport();
  private drained: Promise<void> | undefined;

  constructor(deps: TerminalWorkerDeps) {
    const { transport, config, id } = deps;
    this.id = id;
    this.transport = transport;
    this.config = config;
    this.logger = deps.logger.child({ worker: id });
    this.directory = new SessionDirectory(transport.store, 'term');
    this.recordings = new SessionRecordings(config, this.logger);
    this.metrics = createTerminalWorkerMetrics(deps.metrics, () => this.sessions.values());
    this.isolation =
      deps.isolation ??
      (config.TERMINAL_ISOLATION === 'user'
        ? userIsolation(config, transport.store, this.logger)
        : noIsolation(config));
    this.presence = new UserPresence(
      (user) => [...this.sessions.values()].some((session) => session.user === user),
      (user) => this.userGone(user),
      this.logger,
    );
    this.reaper = new SessionReaper(KILL_GRACE_MS, (user) => this.presence.sessionEnded(user));
    const limits: SessionLimits = {
      replayBytes: config.TERMINAL_REPLAY_BYTES,
      flowHighBytes: config.TERMINAL_FLOW_HIGH_BYTES,
      flowLowBytes: config.TERMINAL_FLOW_LOW_BYTES,
      idleTimeoutMs: config.TERMINAL_IDLE_TIMEOUT_MS,
      outputChunkBytes: config.TERMINAL_OUTPUT_CHUNK_BYTES,
      flowStallMs: config.TERMINAL_FLOW_STALL_MS,
      scrollback: config.TERMINAL_SCROLLBACK_LINES,
    };
    const host: SessionHost = {
      emitOutput: (event) => {
        this.metrics.outputBytes.inc(event.data.length);
        return transport.emitter.emit(rooms.terminal(event.session_id), 'terminal:output', event);
      },
      onClosed: (session, reason, exitCode, signal) => this.onClosed(session, reason, exitCode, signal),
      observer: {
        paused: () => this.metrics.flowPauses.inc(),
        stallReleased: (viewers) => this.metrics.flowStallReleases.inc(viewers),
        ...this.metrics.replay,
      },
    };
    this.starts = new SessionStarts({
      workerId: id,
      config,
      logger: this.logger,
      directory: this.directory,
      isolation: this.isolation,
      presence: this.presence,
      recordings: this.recordings,
      sessions: this.sessions,
      limits,
      host,
      touched: () => this.announcement?.touch(),
    });
  }

  start(): void {
    const { transport, config, owned } = this;
    const handlers = terminalHandlers({
      sessions: this.sessions,
      create: (m) => this.create(m),
      run: (m) => this.run(m),
      outcome: (sessionId, user) => this.runs.outcome(sessionId, user),
    });
    owned.add(this.recordings.pruneNowAndThen());
    transport.bus.serve((body) => {
      const parsed = terminalBusMessageSchema.safeParse(body);
      if (!parsed.success) throw new ServiceError('INVALID_PAYLOAD', 'Malformed terminal message.');
      return dispatchBus(handlers, parsed.data);
    });
    this.announcement = owned.add(
      transport.registry.announce({
        id: this.id,
        kind: 'terminal',
        capacity: config.TERMINAL_WORKER_CAPACITY,
        load: () => this.sessions.size,
        onRejoined: (reason) => this.rejoined(reason),
      }),
    );
    owned.defer(
      transport.registry.onDeath((dead) => {
        if (dead.kind !== 'gateway') return;
        for (const session of this.sessions.values()) session.detachGateway(dead.id, dead.declaredAt);
      }),
    );
    this.logger.info(
      { capacity: config.TERMINAL_WORKER_CAPACITY, isolation: config.TERMINAL_ISOLATION },
      'terminal worker started',
    );
  }

  drain(): Promise<void> {
    this.drained ??= this.drainOnce();
    return this.drained;
  }

  private async drainOnce(): Promise<void> {
    this.draining = true;
    // Starts under way refuse at their next step and close what they had started.
    const startsStopped = this.starts.stop();
    this.handoff.begin();
    // Stop hearing of deaths, then leave the registry, so no gateway places a session here
    // while we close.
    await this.owned.dispose();
    await startsStopped;
    for (const session of [...this.sessions.values()]) session.close('shutdown');
    // Announcements Redis refuses are given up at once; those it never answers (paused)
    // are waited for the death deadline at most, past which gateways end them as lost.
    const deadlineMs = this.config.HEARTBEAT_INTERVAL_MS * this.config.HEARTBEAT_MISSED_BEATS;
    for (const session of await pendingAfter(this.closing, deadlineMs)) {
      this.handoff.add('closed', session);
      this.handoff.add('directory', session);
    }
    this.handoff.log(this.logger);
    // The process exits next: kill now what would have been killed after the grace, and
    // end each user's leftovers, before the isolation is gone.
    this.reaper.dispose();
    this.runs.dispose();
    this.presence.dispose();
    this.isolation.dispose();
  }

  /** `terminal:create`: a shell attached to the creating socket. */
  private async create(m: CreateMessage): Promise<TerminalBusReplies['create']> {
    const session = await this.starts.start({
      ...m,
      record: m.record ?? false,
      started: (started) => started.attachCreator(m.socket, m.gateway, m.flow_control),
    });
    return { session_id: session.id, created_at: session.createdAt.toISOString(), worker: this.id };
  }

  /** `run`: one command in a session of its own, closed at its timeout (see {@link CommandRuns}). */
  private async run(m: RunMessage): Promise<TerminalBusReplies['run']> {
    const session = await this.starts.start({
      ...m,
      record: false,
      started: (started) => this.runs.started(started, m.timeout_ms, m.max_output_bytes),
    });
    return { session_id: session.id, worker: this.id };
  }

  /** A session ended: its processes get the grace, its clients hear `terminal:closed`. */
  private onClosed(session: TerminalSession, reason: TerminalCloseReason, exitCode?: number, signal?: number): void {
    this.sessions.delete(session.id);
    this.announcement?.touch();
    this.metrics.closed.inc({ reason });
    this.metrics.sessionEnded(session.flowReport());
    this.reaper.closed(session.pid, session.user, session.uid);
    this.runs.ended(session, reason, exitCode, signal);
    this.logger.info({ session_id: session.id, user_id: session.user, reason, exit_code: exitCode }, 'session closed');
    const done = announceClosed({
      emit: (event) => this.transport.emitter.emit(rooms.terminal(session.id), 'terminal:closed', event),
      removeFromDirectory: () => this.directory.remove({ session_id: session.id, user: session.user, worker: this.id }),
      event: {
        session_id: session.id,
        reason,
        ...(exitCode === undefined ? {} : { exit_code: exitCode }),
        ...(signal === undefined ? {} : { signal }),
      },
      giveUp: () => this.draining,
      onRemoveFailed: (error) =>
        this.logger.warn(
          { err: error, session_id: session.id },
          'could not remove session from the directory; retrying',
        ),
    }).then(({ announced, removed }) => {
      // Given up by the drain; gateways learn of the rest when the registry declares this
      // worker dead, and clients at their next attach (NOT_FOUND).
      if (!announced) this.handoff.add('closed', session.id);
      if (!removed) this.handoff.add('directory', session.id);
    });
    this.closing.set(session.id, done);
    void done.finally(() => this.closing.delete(session.id));
  }

  /** `user` has nothing left here: end what they left behind (never throws: a timer calls it). */
  private userGone(user: string): void {
    try {
      this.isolation.userGone(user);
    } catch (error) {
      this.logger.error({ err: error, user_id: user }, 'could not end what a user left running');
    }
  }

  /**
   * The registry had lost this worker. Declared dead (it was unreachable for longer than
   * the deadline): its clients were told `worker_lost` and its directory entries are gone,
   * so its sessions are closed for real rather than left running where nobody can reach
   * them. Forgotten (Redis lost its data): the sessions are fine, and are registered again.
   */
  private rejoined(reason: 'declared-dead' | 'forgotten'): void {
    const { logger, sessions } = this;
    if (reason === 'declared-dead') {
      logger.warn({ sessions: sessions.size }, 'this worker was declared dead while alive; closing its sessions');
      for (const session of [...sessions.values()]) session.close('worker_lost');
      return;
    }
    logger.warn({ sessions: sessions.size }, 'the registry had lost this worker; registering its sessions again');
    for (const session of sessions.values()) {
      this.starts
        .register(session)
        .catch((error: unknown) =>
          logger.warn({ err: error, session_id: session.id }, 'could not register a session again'),
        );
    }
  }
}
