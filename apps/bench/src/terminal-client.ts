import { TERMINAL_ACK_EVERY_BYTES, type TerminalOutputEvent } from '@ctos/protocol';
import { connectClient, signToken, type ClientSocket } from '@ctos/testkit';
import type { PathName, TerminalLink, TerminalPath } from './terminal-link';

/** An acknowledgement slower than this (ms) is a failure, not a figure. */
const ACK_TIMEOUT_MS = 15_000;

/**
 * Opens a terminal session on `socket` and returns its id and how long the
 * acknowledgement took (ms).
 * @throws Error with the gateway's code when it refuses (e.g. `UNAVAILABLE` when full).
 */
export async function createTerminal(
  socket: ClientSocket,
  flowControl: boolean,
): Promise<{ sessionId: string; ms: number }> {
  const started = performance.now();
  const answer = await socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck('terminal:create', { cols: 80, rows: 24, flow_control: flowControl });
  const ms = performance.now() - started;
  if (!answer.success) throw Object.assign(new Error(answer.error), { code: answer.code });
  return { sessionId: answer.session_id, ms };
}

/** Closes a session and waits for the acknowledgement. @throws Error when refused. */
export async function closeTerminal(socket: ClientSocket, sessionId: string): Promise<void> {
  const answer = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('terminal:close', { session_id: sessionId });
  if (!answer.success) throw Object.assign(new Error(answer.error), { code: answer.code });
}

/**
 * One session of ours as a link: `terminal:input` out, `terminal:output` back. With
 * `acking`, every chunk is first acknowledged (`terminal:ack`) each TERMINAL_ACK_EVERY_BYTES as
 * the web client does, so flow control paces the PTY to this reader. The listeners live
 * as long as the socket.
 */
export function sessionLink(socket: ClientSocket, sessionId: string, acking: boolean): TerminalLink {
  if (acking) {
    let acked = 0;
    socket.on('terminal:output', (event) => {
      if (event.session_id !== sessionId || event.seq - acked < TERMINAL_ACK_EVERY_BYTES) return;
      acked = event.seq;
      socket.emit('terminal:ack', { session_id: sessionId, seq: event.seq });
    });
  }
  return {
    write: (data) => socket.emit('terminal:input', { session_id: sessionId, data }),
    onOutput(listener) {
      const onEvent = (event: TerminalOutputEvent): void => {
        if (event.session_id === sessionId) listener(event.data);
      };
      socket.on('terminal:output', onEvent);
      return () => socket.off('terminal:output', onEvent);
    },
  };
}

/**
 * Terminals of our system at `url` (embedded mode's gateway, nginx, or one gateway):
 * each a new socket of `user`, authenticated with a token signed with `secret`, holding
 * one new session that is closed with the socket.
 */
export function systemPath(name: PathName, url: string, secret: string, user: string): TerminalPath {
  return {
    ...name,
    async open(flowControl) {
      const socket = await connectClient(url, await signToken(user, { secret }));
      try {
        const { sessionId } = await createTerminal(socket, flowControl);
        return {
          link: sessionLink(socket, sessionId, flowControl),
          close: () => closeTerminal(socket, sessionId).finally(() => socket.close()),
        };
      } catch (error) {
        socket.close();
        throw error;
      }
    },
  };
}
