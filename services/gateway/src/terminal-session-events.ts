import type { DisposableStore } from '@ctos/protocol';
import type { SessionRecord } from '@ctos/transport';
import { bindEvent, type Outcome, type ParsedPayload } from './bind-event';
import { attachSocket, joinSession } from './terminal-attach';
import type { TerminalLink } from './terminal-link';
import type { GatewaySocket } from './types';

/**
 * Wires the events that open, find and end one socket's terminal sessions:
 * `terminal:create`, `terminal:attach`, `terminal:reconnect`, `terminal:close` and
 * `terminal:list`; their listeners are added to `owner`.
 */
export function bindSessionEvents(link: TerminalLink, socket: GatewaySocket, owner: DisposableStore): void {
  const { context } = link;
  owner.add(bindEvent(socket, context, 'terminal:create', (payload) => create(link, socket, payload)));
  owner.add(
    bindEvent(socket, context, 'terminal:attach', async (payload) => {
      const { reply, release } = await attachSocket(
        link,
        socket,
        payload.session_id,
        payload.since,
        payload.flow_control ?? true,
      );
      return { data: reply, after: release };
    }),
  );
  owner.add(bindEvent(socket, context, 'terminal:reconnect', (payload) => reconnect(link, socket, payload)));
  owner.add(bindEvent(socket, context, 'terminal:close', (payload) => close(link, socket, payload)));
  owner.add(bindEvent(socket, context, 'terminal:list', () => list(link, socket.data.user)));
}

/** A new session on the least-loaded worker, attached to `socket` from its first byte. */
async function create(
  link: TerminalLink,
  socket: GatewaySocket,
  payload: ParsedPayload<'terminal:create'>,
): Promise<Outcome> {
  const user = socket.data.user;
  const created = await link.request(
    { kind: 'terminal' },
    {
      op: 'create',
      user,
      cols: payload.cols,
      rows: payload.rows,
      socket: socket.id,
      gateway: link.context.gatewayId,
      flow_control: payload.flow_control ?? false,
      ...(payload.record === undefined ? {} : { record: payload.record }),
    },
  );
  const record: SessionRecord = { ...created, user };
  link.directory.remember(record);
  const release = await joinSession(link, socket, record.worker, created.session_id);
  if (!release) return {};
  return { data: { session_id: created.session_id, created_at: created.created_at }, after: release };
}

/** The original client's attach: no flow control, and the screen comes as one output event. */
async function reconnect(
  link: TerminalLink,
  socket: GatewaySocket,
  payload: ParsedPayload<'terminal:reconnect'>,
): Promise<Outcome> {
  const { reply, release } = await attachSocket(link, socket, payload.session_id, undefined, false);
  return {
    data: { session_id: reply.session_id, created_at: reply.created_at },
    after: () => {
      // The original client reads output events only: the screen comes as one.
      if (reply.data.length > 0) {
        socket.emit('terminal:output', { session_id: reply.session_id, data: reply.data, seq: reply.seq });
      }
      release();
    },
  };
}

/**
 * Ends one of the user's sessions. The socket stays in the session's room: the worker's
 * `terminal:closed` travels on the room path, and over Redis it can reach this gateway
 * after the close's answer (another connection); leaving the room on the answer dropped
 * it. Nothing is emitted to a closed session's room afterwards, and the membership ends
 * with the socket, as for the session's other sockets.
 */
async function close(
  link: TerminalLink,
  socket: GatewaySocket,
  payload: ParsedPayload<'terminal:close'>,
): Promise<void> {
  const user = socket.data.user;
  const record = await link.directory.owned(payload.session_id, user);
  await link
    .request({ worker: record.worker }, { op: 'close', session_id: payload.session_id, user })
    .catch(link.directory.forgetOnNotFound(payload.session_id));
  link.directory.forget(payload.session_id);
  socket.data.terminals.delete(payload.session_id);
}

/** The user's sessions, oldest first, each as its worker describes it. */
async function list(link: TerminalLink, user: string): Promise<Outcome> {
  const ids = await link.directory.forUser(user);
  const byWorker = new Map<string, string[]>();
  for (const sessionId of ids) {
    const record = await link.directory.owned(sessionId, user).catch(() => undefined);
    if (!record) continue;
    byWorker.set(record.worker, [...(byWorker.get(record.worker) ?? []), sessionId]);
  }
  const answers = await Promise.all(
    [...byWorker].map(([worker, sessionIds]) =>
      // A worker that does not answer is lost or overloaded: its sessions are left out, not the list.
      link.request({ worker }, { op: 'info', session_ids: sessionIds, user }).catch(() => []),
    ),
  );
  const sessions = answers.flat().sort((a, b) => a.created_at.localeCompare(b.created_at));
  return { data: { sessions } };
}
