import {
  ServiceError,
  type BusHandlers,
  type TerminalBusMessage,
  type TerminalBusReplies,
  type TerminalSessionInfo,
} from '@ctos/protocol';
import type { TerminalSession } from './session';

/** A `create` message, as the bus delivers it. */
export type CreateMessage = Extract<TerminalBusMessage, { op: 'create' }>;
/** A `run` message, as the bus delivers it. */
export type RunMessage = Extract<TerminalBusMessage, { op: 'run' }>;

/** What the handlers act on. */
export interface HandlerContext {
  /** Live sessions of this worker by id. */
  sessions: ReadonlyMap<string, TerminalSession>;
  /** Starts a session (see `TerminalWorkerService.create`). */
  create(message: CreateMessage): Promise<TerminalBusReplies['create']>;
  /** Starts a session running one command (see `TerminalWorkerService.run`). */
  run(message: RunMessage): Promise<TerminalBusReplies['run']>;
  /** How a run of `user` ended, once it has (see `CommandRuns.outcome`). */
  outcome(sessionId: string, user: string): Promise<TerminalBusReplies['outcome']>;
}

/**
 * One handler per terminal operation of the bus (`TerminalBusMessage` in @ctos/protocol);
 * `TerminalBusReplies` gives each reply's type, so a reply of the wrong shape does not
 * compile. Operations that name a session of another user, or one not here, answer
 * `NOT_FOUND` where the sender waits for a reply (attach, close) and do nothing otherwise
 * (input, resize, ack: fire-and-forget).
 */
export function terminalHandlers(context: HandlerContext): BusHandlers<TerminalBusMessage, TerminalBusReplies> {
  const { sessions } = context;
  /** The session, if it exists here and belongs to `user`; else `NOT_FOUND`. */
  const owned = (sessionId: string, user: string): TerminalSession => {
    const session = sessions.get(sessionId);
    if (!session || session.user !== user) throw new ServiceError('NOT_FOUND', 'No such terminal session.');
    return session;
  };
  return {
    create: (m) => context.create(m),
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
    run: (m) => context.run(m),
    outcome: (m) => context.outcome(m.session_id, m.user),
    screen: async (m) => {
      const session = owned(m.session_id, m.user);
      const text = await session.screen(m.scrollback);
      return {
        session_id: session.id,
        cols: session.cols,
        rows: session.rows,
        text,
        ...(session.title === undefined ? {} : { title: session.title }),
      };
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
}
