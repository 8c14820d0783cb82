import type { ClientToServerEvents, ServerToClientEvents, TerminalOutputEvent } from '@ctos/protocol';
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { TerminalStream } from './terminal-stream';
import { waitForValue } from './wait-for';

/** A catch-up attach after `connection:resync` is tried this many times… */
const CATCH_UP_ATTEMPTS = 20;
/** …each waiting this long for its answer (ms; above the gateway's 5 s bus timeout)… */
const CATCH_UP_TIMEOUT_MS = 8000;
/** …and this long after a refusal (ms): Redis may answer a moment after the hint. */
const CATCH_UP_RETRY_MS = 200;

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

/** Options of {@link OutputCollector}. */
export interface OutputCollectorOptions {
  /** The `flow_control` of the collector's own re-attaches (after `connection:resync`); default false: it never acks. */
  flowControl?: boolean;
}

/**
 * Collects one session's output as a client renders it, checked byte by byte by a
 * {@link TerminalStream}: a chunk that does not start where the output ends is recorded
 * in {@link errors} (a gap or an overlap), not dropped, and {@link waitForText} fails on
 * the first one. Output the collector got before it listened is no gap: the stream
 * starts where the collector first saw it ({@link base}).
 *
 * When the server says the connection missed events (`connection:resync`), the collector
 * catches up on its own, as the web page does: `terminal:attach` from its `seq`, live
 * output held until the replay is in. A failed catch-up is recorded in {@link errors}.
 */
export class OutputCollector {
  closed: { reason: string; exit_code?: number } | undefined;
  /** `connection:resync` hints this collector heard. */
  resyncs = 0;
  private readonly stream = new TerminalStream();
  /** Set while a resync's attach waits for an attach the test started. */
  private resyncPending = false;
  /** Counts the collector's own catch-ups; a newer one supersedes one in flight. */
  private catchUps = 0;
  /** True while one of the collector's own catch-ups is in flight. */
  private catchingUp = false;
  private readonly onOutput = (event: TerminalOutputEvent): void => {
    if (event.session_id === this.sessionId) this.stream.live(event);
  };
  private readonly onClosed = (event: { session_id: string; reason: string; exit_code?: number }): void => {
    if (event.session_id === this.sessionId) this.closed = event;
  };
  private readonly onResync = (): void => {
    this.resyncs++;
    if (this.closed) return;
    // An attach the test started is answered first; the collector's own is superseded at once.
    if (this.stream.attaching && !this.catchingUp) this.resyncPending = true;
    else void this.catchUp();
  };

  constructor(
    private socket: ClientSocket,
    public sessionId: string,
    private readonly options: OutputCollectorOptions = {},
  ) {
    this.listen();
  }

  /** What the client renders (see {@link TerminalStream.text}). */
  get text(): string {
    return this.stream.text;
  }

  /** Position after the last byte held. */
  get seq(): number {
    return this.stream.seq;
  }

  /** Where the collected stream starts (undefined until output arrived). */
  get base(): number | undefined {
    return this.stream.base;
  }

  /** Live chunks appended. */
  get chunks(): number {
    return this.stream.chunks;
  }

  /** Chunks that came again whole with the same bytes (see {@link TerminalStream.repeats}). */
  get repeats(): readonly string[] {
    return this.stream.repeats;
  }

  /** Every gap or overlap of `seq` found (see {@link TerminalStream.errors}). */
  get errors(): readonly string[] {
    return this.stream.errors;
  }

  /** Follows the session on another socket (after a reconnect). */
  moveTo(socket: ClientSocket): void {
    this.stop();
    this.socket = socket;
    this.listen();
  }

  /** Call before sending `terminal:attach`: live output is held until {@link addReplay}. */
  beginAttach(): void {
    this.stream.beginAttach();
  }

  /**
   * Applies an attach's answer — its replay must start at this collector's `seq` — then
   * what arrived meanwhile. `('', 0, false)` stands for "nothing" (a failed attach).
   */
  addReplay(data: string, seq: number, snapshot: boolean): void {
    this.stream.applyReplay({ data, seq, snapshot });
    if (this.resyncPending) {
      this.resyncPending = false;
      void this.catchUp();
    }
  }

  /** Throws when a gap or an overlap was found. */
  assertWhole(): void {
    this.stream.assertWhole();
  }

  /** Waits for `pattern` in the text; fails at once when the stream is not whole. */
  async waitForText(pattern: RegExp | string, timeoutMs = 10_000): Promise<true> {
    const found = await waitForValue(
      () => {
        if (this.stream.errors.length > 0) return 'broken';
        return (typeof pattern === 'string' ? this.text.includes(pattern) : pattern.test(this.text))
          ? 'found'
          : undefined;
      },
      {
        timeoutMs,
        message: `output matching ${String(pattern)} (got ${JSON.stringify(this.text.slice(-300))})`,
      },
    );
    if (found === 'broken') this.stream.assertWhole();
    return true;
  }

  stop(): void {
    this.socket.off('terminal:output', this.onOutput);
    this.socket.off('terminal:closed', this.onClosed);
    this.socket.off('connection:resync', this.onResync);
  }

  private listen(): void {
    this.socket.on('terminal:output', this.onOutput);
    this.socket.on('terminal:closed', this.onClosed);
    this.socket.on('connection:resync', this.onResync);
  }

  /**
   * After `connection:resync`: attach again from `seq`, retrying while the answer is a
   * passing failure. Live output is held from this tick on (before the first await).
   */
  private async catchUp(): Promise<void> {
    const socket = this.socket;
    const generation = ++this.catchUps;
    this.catchingUp = true;
    for (let attempt = 1; attempt <= CATCH_UP_ATTEMPTS && socket.connected; attempt++) {
      const since = this.stream.beginAttach();
      const answer = await socket
        .timeout(CATCH_UP_TIMEOUT_MS)
        .emitWithAck('terminal:attach', {
          session_id: this.sessionId,
          since,
          flow_control: this.options.flowControl ?? false,
        })
        .catch(() => undefined);
      if (generation !== this.catchUps) return; // a newer catch-up owns the stream
      if (answer?.success || answer?.code === 'NOT_FOUND') {
        this.catchingUp = false;
        if (answer.success) this.addReplay(answer.data, answer.seq, answer.snapshot);
        else {
          this.stream.applyReplay({ data: '', seq: this.stream.seq, snapshot: false });
          this.closed ??= { reason: 'not_found' };
        }
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS));
      if (generation !== this.catchUps) return;
    }
    this.catchingUp = false;
    this.stream.errors.push(`no catch-up after connection:resync within ${CATCH_UP_ATTEMPTS} attempts`);
  }
}
