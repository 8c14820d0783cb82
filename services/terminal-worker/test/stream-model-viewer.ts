import type { TerminalAttachResult, TerminalOutputEvent } from '@ctos/protocol';
import { TerminalStream, type ClientSocket } from '@ctos/testkit';
import { REQUEST_TIMEOUT_MS } from './stream-model';

/**
 * One client's view of one terminal session, kept as a page keeps it: the bytes it
 * rendered, checked position by position by a {@link TerminalStream} (a gap, an overlap
 * or a chunk sent twice is recorded, never dropped), and the last position it acked.
 *
 * Attaching from its own `seq` continues the view, so the stream checks the replay
 * meets what it had exactly; attaching from anywhere else starts a new view there, as a
 * page that reloads with a position it stored. A snapshot's serialized screen is kept
 * apart ({@link screen}): it is not stream bytes, and only what follows it is compared
 * with the shell's bytes.
 *
 * Whatever else reaches its socket — another session's output, `terminal:closed` or
 * `terminal:error` (no session ends or fails in these runs), a resync hint (no Redis
 * blip here) — is a violation.
 */
export class Viewer {
  view = new TerminalStream();
  /** The serialized screen of the view's last snapshot ('' while the view has none): its text starts with it. */
  screen = '';
  /** Position the view's exact bytes start at after a snapshot. */
  private snapshotAt = 0;
  /** The highest position acked, or where the attachment started: the worker counts unacked bytes from there. */
  ackFloor = 0;
  /** The socket id of the current attachment, as the worker's flow report names it. */
  attachment: string | undefined;
  readonly violations: string[] = [];
  private socket: ClientSocket | undefined;
  /** Chunks the view had dropped as held by a replay when the last attach began. */
  private coveredBefore = 0;
  /** Whether the last attach may meet chunks its replay holds: ones already in flight to its socket. */
  private mayOverlap = false;

  constructor(
    readonly label: string,
    readonly sessionId: string,
  ) {}

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** Position after the last byte of the view. */
  get seq(): number {
    return this.view.seq;
  }

  /** Where the view's exact bytes ({@link exact}) start; undefined before anything arrived. */
  get start(): number | undefined {
    return this.screen === '' ? this.view.base : this.snapshotAt;
  }

  /** The view's stream bytes: everything after the snapshot's screen, or all of it. */
  exact(): Buffer {
    return Buffer.from(this.view.text.slice(this.screen.length), 'utf8');
  }

  /**
   * Everything wrong the view saw: stream errors, repeats, stray events, and chunks that
   * repeated its replay's bytes when none could be on their way: the worker's hold
   * (decision 0003) keeps a socket's live output behind its replay, so only chunks
   * already sent to a socket that was attached can meet the replay.
   */
  problems(): string[] {
    const repeats = this.view.repeats.map((range) => `bytes ${range} came twice`);
    const overlaps = this.view.covered - this.coveredBefore;
    const held = this.mayOverlap || overlaps === 0 ? [] : [`${overlaps} chunks repeated what the replay held`];
    return [...this.view.errors, ...repeats, ...held, ...this.violations];
  }

  /** Follows the session on `socket`, which created it (output starts at 0 once the create is answered). */
  created(socket: ClientSocket): void {
    this.use(socket);
    this.attachment = socket.id;
  }

  /** Takes `socket`, just connected, for the next attach. */
  use(socket: ClientSocket): void {
    this.drop();
    this.socket = socket;
    socket.on('terminal:output', this.onOutput);
    socket.on('terminal:closed', this.onClosed);
    socket.on('terminal:error', this.onError);
    socket.on('connection:resync', this.onResync);
  }

  /**
   * Attaches from `since` — continuing the view, or as a `fresh` one — with live output
   * held until the answer is applied. `flowControl` undefined sends none (the default).
   * `mayOverlap`: chunks its replay holds may still reach the socket (output was started
   * just before, and was on its way to the socket already); they must carry the replay's
   * bytes, and are dropped by position.
   * @throws Error when the attach is refused.
   */
  async attach(
    since: number | undefined,
    options: { fresh: boolean; flowControl: boolean | undefined; mayOverlap: boolean },
  ): Promise<TerminalAttachResult> {
    const socket = this.connection;
    if (options.fresh) {
      this.view = new TerminalStream();
      this.screen = '';
    }
    this.mayOverlap = options.mayOverlap;
    this.coveredBefore = this.view.covered;
    this.view.beginAttach();
    const answer = await socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('terminal:attach', {
      session_id: this.sessionId,
      ...(since === undefined ? {} : { since }),
      ...(options.flowControl === undefined ? {} : { flow_control: options.flowControl }),
    });
    if (!answer.success) throw new Error(`${this.label}: attach from ${since} answered ${answer.code}`);
    if (answer.snapshot) {
      this.screen = answer.data;
      this.snapshotAt = answer.seq;
    }
    this.view.applyReplay(answer);
    this.ackFloor = answer.seq;
    this.attachment = socket.id;
    return answer;
  }

  /**
   * Acks `seq` and waits for the gateway to take it. The worker counts an ack past what it
   * sent as up to what it sent; called while nothing is on its way, that is this view's end.
   */
  async ack(seq: number): Promise<void> {
    const answer = await this.connection
      .timeout(REQUEST_TIMEOUT_MS)
      .emitWithAck('terminal:ack', { session_id: this.sessionId, seq });
    if (!answer.success) throw new Error(`${this.label}: ack ${seq} answered ${answer.code}`);
    this.ackFloor = Math.max(this.ackFloor, Math.min(seq, this.seq));
  }

  /** Acks what it has, as the page does while it renders; a refusal comes back as `terminal:error`. */
  ackAll(): void {
    if (this.seq <= this.ackFloor) return;
    this.connection.emit('terminal:ack', { session_id: this.sessionId, seq: this.seq });
    this.ackFloor = this.seq;
  }

  /** Closes its connection (the server detaches it); the view stays. */
  detach(): void {
    this.socket?.close();
    this.drop();
  }

  /** Stops listening to a socket that is gone (closed here, or cut by the server). */
  drop(): void {
    const socket = this.socket;
    if (!socket) return;
    socket.off('terminal:output', this.onOutput);
    socket.off('terminal:closed', this.onClosed);
    socket.off('terminal:error', this.onError);
    socket.off('connection:resync', this.onResync);
    this.socket = undefined;
    this.attachment = undefined;
  }

  /** The socket, for what the viewer sends. */
  get connection(): ClientSocket {
    if (!this.socket) throw new Error(`${this.label} is not connected`);
    return this.socket;
  }

  private readonly onOutput = (event: TerminalOutputEvent): void => {
    if (event.session_id === this.sessionId) this.view.live(event);
    else this.violations.push(`output of session ${event.session_id} at ${event.seq}`);
  };

  private readonly onClosed = (event: { session_id: string; reason: string }): void => {
    this.violations.push(`terminal:closed ${event.reason} for ${event.session_id}`);
  };

  private readonly onError = (event: { code: string; error: string }): void => {
    this.violations.push(`terminal:error ${event.code}: ${event.error}`);
  };

  private readonly onResync = (event: { reason: string }): void => {
    this.violations.push(`connection:resync ${event.reason}`);
  };
}
