import { randomUUID } from 'node:crypto';
import { ServiceError } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { SessionDirectory } from '@ctos/transport';
import type { TerminalWorkerConfig } from './config';
import { TerminalSession, type SessionHost, type SessionLimits } from './session';
import type { SessionRecordings } from './session-recordings';
import type { ShellIsolation } from './shell-isolation';
import type { CreateTicket, UserPresence } from './user-presence';

/** What starting sessions needs from its worker. */
export interface SessionStartsDeps {
  workerId: string;
  config: TerminalWorkerConfig;
  logger: Logger;
  directory: SessionDirectory;
  isolation: ShellIsolation;
  presence: UserPresence;
  recordings: SessionRecordings;
  /** The worker's live sessions: a started one is added here before it is registered. */
  sessions: Map<string, TerminalSession>;
  limits: SessionLimits;
  host: SessionHost;
  /** The number of sessions changed (the registry reports the worker's load). */
  touched(): void;
}

/** One session to start. */
export interface StartRequest {
  user: string;
  cols: number;
  rows: number;
  /** A command for the shell to run (`-c`) instead of an interactive shell. */
  command?: string;
  /** The creator asked for a recording (see `SessionRecordings.forSession`). */
  record: boolean;
  /** Attaches or watches the session before it is registered. */
  started(session: TerminalSession): void;
}

/**
 * Admission and start of a worker's sessions: refused while the worker drains or is full
 * (`UNAVAILABLE`) or when the user has `TERMINAL_MAX_SESSIONS_PER_USER` (`LIMIT_EXCEEDED`);
 * then the user's shell (their account, `UNAVAILABLE` when it cannot be prepared;
 * `INTERNAL` when the shell cannot start), the recording, and the directory entry.
 */
export class SessionStarts {
  private stopped = false;
  /** Starts under way, which {@link stop} waits for. */
  private readonly underWay = new Set<Promise<unknown>>();

  constructor(private readonly deps: SessionStartsDeps) {}

  /** Starts the session `request` describes; counted while under way. */
  async start(request: StartRequest): Promise<TerminalSession> {
    const { config, sessions, presence } = this.deps;
    this.refuseIfStopped();
    if (sessions.size + presence.creates >= config.TERMINAL_WORKER_CAPACITY) {
      throw new ServiceError('UNAVAILABLE', 'This terminal worker is full; try again.');
    }
    const ticket = presence.beginCreate(request.user);
    const started = this.startCounted(request, ticket).finally(() => presence.endCreate(ticket));
    this.underWay.add(started);
    try {
      return await started;
    } finally {
      this.underWay.delete(started);
    }
  }

  /** Refuses every start from now on; resolves once those under way have settled (each refused at its next step). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.underWay]);
  }

  /** Puts `session` in the directory, where gateways find its worker. */
  register(session: TerminalSession): Promise<void> {
    return this.deps.directory.register({
      session_id: session.id,
      worker: this.deps.workerId,
      user: session.user,
      created_at: session.createdAt.toISOString(),
    });
  }

  /**
   * Called on entry to a start and after each of its awaits: a start the drain caught
   * under way is refused, and closes the session it may have started. Refused rather than
   * completed and then closed: the gateway joins the session's room only once it has the
   * reply, so the `terminal:closed` of a session closed at the drain would reach nobody
   * and the client would hold the id of a session already gone; a refusal is what every
   * create gets once the drain has begun, and the gateway retries it on another worker.
   */
  private refuseIfStopped(): void {
    if (this.stopped) throw new ServiceError('UNAVAILABLE', 'This terminal worker is shutting down; try again.');
  }

  /** Checks the user's session limit, starts their shell, lets `started` attach or watch it, and registers it. */
  private async startCounted(request: StartRequest, ticket: CreateTicket): Promise<TerminalSession> {
    const { config, logger, sessions, recordings, isolation, limits, host } = this.deps;
    const { user, cols, rows, command } = request;
    const existing = await this.sessionsCounted(ticket);
    this.refuseIfStopped();
    if (existing >= config.TERMINAL_MAX_SESSIONS_PER_USER) {
      throw new ServiceError(
        'LIMIT_EXCEEDED',
        `You already have ${existing} terminal sessions open (the limit is ${config.TERMINAL_MAX_SESSIONS_PER_USER}); close one first.`,
      );
    }
    const shell = await isolation.shellFor(user, command);
    this.refuseIfStopped();
    const sessionId = randomUUID();
    let session: TerminalSession;
    try {
      const recording = recordings.forSession(sessionId, user, cols, rows, request.record);
      session = new TerminalSession(sessionId, user, shell, cols, rows, limits, host, recording);
    } catch (error) {
      logger.error({ err: error, user_id: user }, 'could not start a shell');
      throw new ServiceError('INTERNAL', 'The shell could not be started; the operator has been told.');
    }
    ticket.started = true;
    request.started(session);
    sessions.set(sessionId, session);
    this.deps.touched();
    try {
      await this.register(session);
      this.refuseIfStopped();
    } catch (error) {
      // The client hears a refusal and never learns the id: a session left running would
      // be attached to its socket for ever, out of everyone's reach. Closing it removes
      // its directory entry too, and the drain waits for that.
      session.close(this.stopped ? 'shutdown' : 'closed');
      throw error;
    }
    logger.info(
      { session_id: sessionId, user_id: user, pid: session.pid, command: command !== undefined },
      'session created',
    );
    return session;
  }

  /**
   * What counts against the limit of the user of `ticket`: their sessions in the directory
   * (every worker's) and ours not registered yet, each once, and starts here that began
   * before this one and have no session yet. Counted in one turn after the read, so a
   * start that registered meanwhile is not counted twice.
   */
  private async sessionsCounted(ticket: CreateTicket): Promise<number> {
    const ids = new Set(await this.deps.directory.forUser(ticket.user));
    for (const session of this.deps.sessions.values()) if (session.user === ticket.user) ids.add(session.id);
    return ids.size + this.deps.presence.startingBefore(ticket);
  }
}
