import type { ClientToServerEvents, ServerToClientEvents, TerminalOutputEvent } from '@ctos/protocol';
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { waitFor } from './wait-for';

/** A typed socket.io-client socket. */
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Opens a socket with `token` and waits until it is connected (or rejects with the connect_error). */
export async function connectClient(
  url: string,
  token: string | undefined,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, {
    path: '/socket.io',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return socket;
}

/**
 * Collects one session's output as a client would render it: chunks whose `seq` is not
 * above what it has are dropped, so the text is what the user sees.
 */
export class OutputCollector {
  text = '';
  seq = 0;
  chunks = 0;
  closed: { reason: string; exit_code?: number } | undefined;
  /**
   * Live output that arrived while an attach was answered. An `emitWithAck` promise
   * resolves a microtask after its ack packet, so output packets that came right behind
   * the ack are handled first; the web page buffers them the same way.
   */
  private early: TerminalOutputEvent[] | undefined;
  private readonly onOutput = (event: TerminalOutputEvent): void => {
    if (event.session_id !== this.sessionId) return;
    if (this.early) this.early.push(event);
    else this.append(event);
  };
  private readonly onClosed = (event: { session_id: string; reason: string; exit_code?: number }): void => {
    if (event.session_id === this.sessionId) this.closed = event;
  };

  constructor(
    private socket: ClientSocket,
    public sessionId: string,
  ) {
    this.listen();
  }

  /** Follows the session on another socket (after a reconnect). */
  moveTo(socket: ClientSocket): void {
    this.stop();
    this.socket = socket;
    this.listen();
  }

  /** Call before sending `terminal:attach`: live output is held until {@link addReplay}. */
  beginAttach(): void {
    this.early = [];
  }

  /** Appends replay data received in an attach ack, then what arrived meanwhile. */
  addReplay(data: string, seq: number, snapshot: boolean): void {
    if (snapshot) {
      this.text = data;
      this.seq = seq;
    } else if (seq > this.seq) {
      this.text += data;
      this.seq = seq;
    }
    for (const event of this.early ?? []) this.append(event);
    this.early = undefined;
  }

  private append(event: TerminalOutputEvent): void {
    if (event.seq <= this.seq) return; // already have it
    this.text += event.data;
    this.seq = event.seq;
    this.chunks++;
  }

  waitForText(pattern: RegExp | string, timeoutMs = 10_000): Promise<true> {
    return waitFor(
      () => (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text)) || undefined,
      {
        timeoutMs,
        message: `output matching ${String(pattern)} (got ${JSON.stringify(this.text.slice(-300))})`,
      },
    );
  }

  stop(): void {
    this.socket.off('terminal:output', this.onOutput);
    this.socket.off('terminal:closed', this.onClosed);
  }

  private listen(): void {
    this.socket.on('terminal:output', this.onOutput);
    this.socket.on('terminal:closed', this.onClosed);
  }
}
