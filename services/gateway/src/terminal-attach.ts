import { rooms, ServiceError, type TerminalBusReplies } from '@ctos/protocol';
import type { TerminalLink } from './terminal-link';
import type { GatewaySocket } from './types';

/** Lets the output a worker holds for one socket flow; sent after the acknowledgement. */
export type Release = () => void;

/**
 * The gateway's half of an attach, once the worker holds the session's output for
 * `socket`: joins the session's room (and waits until this server receives the room's
 * channel, see `Transport.roomsSubscribed`) and records the session on the socket, then
 * returns the {@link Release} to call once the acknowledgement is on its way — so a client
 * sees each byte once, in order, even while output is running. If the socket closed while
 * the worker answered (P09) or while the room was being subscribed, it is not attached:
 * the worker is told to release and detach, and the result is undefined.
 */
export async function joinSession(
  link: TerminalLink,
  socket: GatewaySocket,
  worker: string,
  sessionId: string,
): Promise<Release | undefined> {
  const release = (): void =>
    void link.send(worker, { op: 'release', session_id: sessionId, socket: socket.id }).catch(() => undefined);
  if (socket.connected) {
    void socket.join(rooms.terminal(sessionId));
    await link.context.transport.roomsSubscribed();
  }
  if (!socket.connected) {
    release();
    void link.send(worker, { op: 'detach', session_id: sessionId, socket: socket.id }).catch(() => undefined);
    return undefined;
  }
  socket.data.terminals.add(sessionId);
  return release;
}

/**
 * Attaches `socket` to one of its user's sessions: the worker holds the output and
 * answers with the replay from `since` (a byte position; the whole buffer without it),
 * the socket joins the room. The caller acknowledges, then calls `release`.
 * @throws ServiceError `NOT_FOUND` (not the user's session, or it ended), `UNAVAILABLE`
 * (the connection closed during attach, or no worker answers), `TIMEOUT`.
 */
export async function attachSocket(
  link: TerminalLink,
  socket: GatewaySocket,
  sessionId: string,
  since: number | undefined,
  flowControl: boolean,
): Promise<{ reply: TerminalBusReplies['attach']; release: Release }> {
  const record = await link.directory.owned(sessionId, socket.data.user);
  const reply = await link
    .request(
      { worker: record.worker },
      {
        op: 'attach',
        session_id: sessionId,
        user: socket.data.user,
        socket: socket.id,
        gateway: link.context.gatewayId,
        flow_control: flowControl,
        ...(since === undefined ? {} : { since }),
      },
    )
    .catch(link.directory.forgetOnNotFound(sessionId));
  const release = await joinSession(link, socket, record.worker, sessionId);
  if (!release) throw new ServiceError('UNAVAILABLE', 'The connection closed during attach.');
  return { reply, release };
}

/**
 * Detaches a closed socket from every session it was attached to; resolves once every
 * detach is confirmed or given up on (within BUS_REQUEST_TIMEOUT_MS), never rejects, so
 * a draining gateway can wait for them. A detach that never arrived would keep the
 * session attached (no idle timeout) and hold its flow control, so the worker is looked
 * up even if the directory's memory dropped it.
 */
export async function detachAll(link: TerminalLink, socket: GatewaySocket): Promise<void> {
  const sessions = [...socket.data.terminals];
  socket.data.terminals.clear();
  await Promise.all(sessions.map((sessionId) => detach(link, socket, sessionId)));
}

/** Detaches `socket` from one session; never rejects. */
async function detach(link: TerminalLink, socket: GatewaySocket, sessionId: string): Promise<void> {
  // Named until confirmed: a drain that ends while this waits on Redis (paused) names it.
  const { handoff } = link.context;
  handoff.add('detach', sessionId);
  try {
    const record = await link.directory.owned(sessionId, socket.data.user);
    await link.send(record.worker, { op: 'detach', session_id: sessionId, socket: socket.id });
    handoff.delete('detach', sessionId);
  } catch (error) {
    // The session or its worker is gone (nothing is attached any more: nothing to hand
    // off), or the bus could not confirm the send in time: nothing more is tried from
    // here. A worker that never hears of it drops the attachment when this gateway leaves
    // the registry (or is declared dead); a drain names it once.
    if (error instanceof ServiceError && error.code === 'NOT_FOUND') handoff.delete('detach', sessionId);
  }
}
