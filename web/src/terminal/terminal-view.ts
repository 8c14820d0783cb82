import {
  DisposableStore,
  TERMINAL_ACK_EVERY_BYTES,
  utf8Length,
  type AckResponse,
  type TerminalAttachResult,
  type TerminalClosedEvent,
  type TerminalOutputEvent,
} from '@ctos/protocol';
import type { FitAddon } from '@xterm/addon-fit';
import type { Terminal } from '@xterm/xterm';
import { onSocketEvent, request, type AppSocket } from '../shell/socket-client';
import { ReplayGuard } from './replay-guard';
import { bufferText, openXterm } from './xterm-setup';

/** Wait this long (ms) after the last size change before resizing the PTY, so a drag sends one resize, not fifty. */
const RESIZE_SETTLE_MS = 60;
/** First retry of an attach that failed for a passing reason (ms); it doubles up to the maximum. */
const ATTACH_RETRY_MS = 1000;
const ATTACH_RETRY_MAX_MS = 10_000;

/** What a terminal view tells its window. */
export interface TerminalViewEvents {
  /** The shell set a title (OSC 0/2). */
  onTitle(title: string): void;
  /** The session ended (or never existed); `how` is a short phrase. */
  onEnded(how: string): void;
  /** The user pressed a key after the end: the window may close. */
  onDismiss(): void;
}

/** A terminal view's state for the diagnostics handle. */
export interface TerminalViewInfo {
  session_id: string | undefined;
  cols: number;
  rows: number;
  seq: number;
  ended: boolean;
  /** Cursor column and row on the screen (0-based cells). */
  cursor_x: number;
  cursor_y: number;
}

/**
 * One window's xterm.js bound to a session: created at the window's real size (P04),
 * re-attached with its last `seq` after every reconnect (nothing lost or doubled, P06),
 * acknowledging rendered bytes from xterm's write callbacks so a flood never freezes
 * the tab, and replaying without answering the questions in the replay (`ReplayGuard`).
 * The xterm itself (Unicode 11 widths P08, pasted text neutralised P07) is
 * `openXterm`'s; this view binds it to the session and owns it.
 */
export class TerminalView {
  readonly term: Terminal;
  private sessionIdNow: string | undefined;
  /** Position after the last output handed to xterm (bytes). */
  private seq = 0;
  private acked = 0;
  /** Live output that arrived while an attach was in flight; written after its replay. */
  private early: TerminalOutputEvent[] | undefined;
  /** The socket id this view's session is attached through; acks go only there (another socket would be refused). */
  private attachedVia: string | undefined;
  /**
   * Output that arrived while `terminal:create` was in flight. Over long-polling the
   * acknowledgement and the first output can come in one response, and the output
   * would be handled before the code awaiting the acknowledgement learns the new id.
   */
  private unclaimed: TerminalOutputEvent[] | undefined;
  /** Counts attaches so the answer of a superseded one is ignored. */
  private attachGeneration = 0;
  /** A `connection:resync` came while the session was being created: catch up once its id is known. */
  private resyncAfterCreate = false;
  private retryDelay = ATTACH_RETRY_MS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private resizeTimer: ReturnType<typeof setTimeout> | undefined;
  private fitFrame = 0;
  private ended = false;
  private readonly fit: FitAddon;
  /** Keeps the answers to questions in replayed output out of the shell. */
  private readonly replayGuard: ReplayGuard;
  /** Everything this view registered (socket, xterm and DOM listeners, timers), and the terminal itself. */
  private readonly owned = new DisposableStore();

  constructor(
    private readonly socket: AppSocket,
    private readonly container: HTMLElement,
    private readonly events: TerminalViewEvents,
  ) {
    const { term, fit } = openXterm(container, this.owned);
    this.term = term;
    this.fit = fit;
    this.replayGuard = new ReplayGuard(term, this.owned);
    this.fitNow();

    const onOutput = (event: TerminalOutputEvent): void => {
      // While a create is in flight the id is unknown: keep everything, sorted out once it is known.
      if (this.unclaimed) this.unclaimed.push(event);
      if (event.session_id !== this.sessionIdNow) return;
      if (this.early) this.early.push(event);
      else this.write(event.data, event.seq);
    };
    const onClosed = (event: TerminalClosedEvent): void => {
      if (event.session_id === this.sessionIdNow) this.end(describeClose(event));
    };
    this.owned.add(onSocketEvent(socket, 'terminal:output', onOutput));
    this.owned.add(onSocketEvent(socket, 'terminal:closed', onClosed));
    this.owned.add(onSocketEvent(socket, 'connection:resync', () => this.catchUp()));
    this.owned.add(
      term.onData((data) => {
        if (!this.replayGuard.admits()) return;
        if (this.ended) this.events.onDismiss();
        else if (this.sessionIdNow) socket.emit('terminal:input', { session_id: this.sessionIdNow, data });
      }),
    );
    this.owned.add(term.onResize(() => this.scheduleResize()));
    this.owned.add(term.onTitleChange((text) => this.events.onTitle(text)));
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(this.fitFrame);
      this.fitFrame = requestAnimationFrame(() => this.fitNow());
    });
    observer.observe(container);
    this.owned.defer(() => observer.disconnect());
    this.owned.defer(() => cancelAnimationFrame(this.fitFrame));
    this.owned.defer(() => clearTimeout(this.resizeTimer));
    this.owned.defer(() => clearTimeout(this.retryTimer));
  }

  get sessionId(): string | undefined {
    return this.sessionIdNow;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** A read-only summary for the diagnostics handle. */
  info(): TerminalViewInfo {
    const buffer = this.term.buffer.active;
    return {
      cursor_x: buffer.cursorX,
      cursor_y: buffer.cursorY,
      session_id: this.sessionIdNow,
      cols: this.term.cols,
      rows: this.term.rows,
      seq: this.seq,
      ended: this.ended,
    };
  }

  /** The whole buffer (scrollback and screen) as text, one line per row, trailing blanks trimmed. */
  text(): string {
    return bufferText(this.term);
  }

  focus(): void {
    this.term.focus();
  }

  /**
   * Starts a new session at the window's size now.
   * @returns the failed acknowledgement (`LIMIT_EXCEEDED`, `UNAVAILABLE`, `TIMEOUT`…), or undefined on success.
   */
  async create(): Promise<AckResponse | undefined> {
    this.fitNow();
    this.unclaimed = [];
    const response = await request(this.socket, 'terminal:create', {
      cols: this.term.cols,
      rows: this.term.rows,
      flow_control: true,
    });
    const unclaimed = this.unclaimed;
    this.unclaimed = undefined;
    if (!response.success) return response;
    this.attachedVia = this.socket.id;
    this.sessionIdNow = response.session_id;
    this.seq = 0;
    this.acked = 0;
    for (const event of unclaimed) if (event.session_id === response.session_id) this.write(event.data, event.seq);
    // The window may have changed size while the session was being created.
    this.scheduleResize();
    if (this.resyncAfterCreate) {
      this.resyncAfterCreate = false;
      void this.attach(response.session_id, 'resume');
    }
    return undefined;
  }

  /**
   * Shows an existing session: its whole screen (a restored window after a reload), or
   * only what this view lacks after its `seq` (`resume`, after a reconnect, a
   * `connection:resync` or a gap). Live output is held from the request until a replay
   * is in, across failed attempts too: output that arrived before an attempt's answer
   * lies inside the next replay, and none is rendered past a gap.
   */
  async attach(sessionId: string, mode: 'restore' | 'resume'): Promise<void> {
    if (this.ended) return;
    clearTimeout(this.retryTimer);
    const generation = ++this.attachGeneration;
    this.sessionIdNow = sessionId;
    this.attachedVia = undefined;
    this.early = [];
    const response = await request(this.socket, 'terminal:attach', {
      session_id: sessionId,
      ...(mode === 'resume' ? { since: this.seq } : {}),
      flow_control: true,
    });
    if (generation !== this.attachGeneration) return; // a newer attach owns the view
    const early = this.early ?? [];
    if (!response.success) {
      // Held output lies inside the next attempt's replay: drop it, and go on holding.
      this.early = response.code === 'NOT_FOUND' ? undefined : [];
      if (response.code === 'NOT_FOUND') this.end('it no longer exists');
      else this.retryAttach(sessionId, response.error);
      return;
    }
    this.early = undefined;
    this.retryDelay = ATTACH_RETRY_MS;
    this.attachedVia = this.socket.id;
    this.applyReplay(response);
    for (const event of early) this.write(event.data, event.seq);
    if (this.term.cols !== response.cols || this.term.rows !== response.rows) this.scheduleResize(0);
  }

  /**
   * After `connection:resync` (the connection stayed up, but output for it may have been
   * lost): continue from the last byte this view has, as after a reconnect.
   */
  private catchUp(): void {
    if (this.unclaimed) this.resyncAfterCreate = true;
    else if (this.sessionIdNow && !this.ended) void this.attach(this.sessionIdNow, 'resume');
  }

  /** Ends the session (the user closed its window). */
  close(): void {
    if (this.sessionIdNow && !this.ended) this.socket.emit('terminal:close', { session_id: this.sessionIdNow });
    this.ended = true;
  }

  /**
   * Releases the socket, xterm and DOM listeners and the timers, then the terminal. The
   * session goes on: {@link close} ends it.
   */
  dispose(): void {
    void this.owned.dispose();
  }

  private applyReplay(response: TerminalAttachResult): void {
    if (response.snapshot) {
      // A serialized screen replaces whatever this view shows.
      this.term.reset();
      this.seq = 0;
    }
    if (response.data) this.write(response.data, response.seq, 'replay');
    this.seq = Math.max(this.seq, response.seq);
    // The worker counts this attachment as having rendered everything up to here.
    this.acked = response.seq;
  }

  private retryAttach(sessionId: string, reason: string): void {
    this.notice(`\x1b[33m${reason}\x1b[0m`);
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, ATTACH_RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      // When disconnected, the reconnect's resume does it.
      if (this.socket.connected) void this.attach(sessionId, 'resume');
    }, delay);
  }

  private end(how: string): void {
    if (this.ended) return;
    this.ended = true;
    this.notice(`\x1b[90m[session ended: ${how}. Press any key to close this window.]\x1b[0m`);
    this.events.onEnded(how);
  }

  /** A dim line of our own, outside the session's byte count. */
  private notice(text: string): void {
    this.term.write(`\r\n${text}\r\n`);
  }

  /**
   * Hands output up to `seq` to xterm (`replay`: parsed without answering its questions)
   * and acks it once rendered. Live output that does not start where the view ends is a
   * gap: it is not rendered, and the view catches up from its `seq` instead.
   */
  private write(data: string, seq: number, kind: 'live' | 'replay' = 'live'): void {
    if (seq <= this.seq) return; // already shown: a replay overlapping live output
    if (kind === 'live' && seq - utf8Length(data) > this.seq) {
      if (this.sessionIdNow && !this.ended) void this.attach(this.sessionIdNow, 'resume');
      return;
    }
    this.seq = seq;
    const rendered = (): void => {
      if (seq - this.acked < TERMINAL_ACK_EVERY_BYTES || !this.sessionIdNow || this.ended) return;
      // Rendered after a reconnect but before the re-attach: the new attachment starts from its own position.
      if (!this.socket.connected || this.socket.id !== this.attachedVia) return;
      this.acked = seq;
      this.socket.emit('terminal:ack', { session_id: this.sessionIdNow, seq });
    };
    if (kind === 'replay') this.replayGuard.write(data, rendered);
    else this.term.write(data, rendered);
  }

  private fitNow(): void {
    // A minimised window has no size; fitting it would propose nothing useful.
    if (this.container.clientWidth === 0 || this.container.clientHeight === 0) return;
    try {
      this.fit.fit();
    } catch {
      // The renderer has not measured its font yet; the next resize fits.
    }
  }

  private scheduleResize(delay = RESIZE_SETTLE_MS): void {
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      if (!this.sessionIdNow || this.ended) return;
      this.socket.emit('terminal:resize', {
        session_id: this.sessionIdNow,
        cols: this.term.cols,
        rows: this.term.rows,
      });
    }, delay);
  }
}

function describeClose(event: TerminalClosedEvent): string {
  switch (event.reason) {
    case 'exit':
      return `exited with code ${event.exit_code ?? '?'}`;
    case 'closed':
      return 'closed';
    case 'timeout':
      return 'closed after being idle';
    case 'worker_lost':
      return 'its server was lost';
    case 'shutdown':
      return 'the server shut down';
  }
}
