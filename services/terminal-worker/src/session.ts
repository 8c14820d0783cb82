import { chmodSync, chownSync, closeSync, constants as fsConstants, openSync, readlinkSync } from 'node:fs';
import * as pty from 'node-pty';
import type { TerminalCloseReason, TerminalOutputEvent, TerminalSessionInfo } from '@ctos/protocol';
import { ReplayBuffer } from './replay-buffer';
import { isAlive } from './process-tree';
import { ScreenMirror } from './screen-mirror';

/** Limits and tuning of one session; every field comes from configuration. */
export interface SessionLimits {
  /** Replay buffer size (bytes). */
  replayBytes: number;
  /** Pause the PTY when an acking client is this many bytes behind (VS Code: 100,000). */
  flowHighBytes: number;
  /** Resume once every acking client is at most this many bytes behind (VS Code: 5,000). */
  flowLowBytes: number;
  /** A detached session is closed after this long (ms). */
  idleTimeoutMs: number;
  /** Output coalescing window under a flood (ms). */
  coalesceMs: number;
  /**
   * An acking client that has held the PTY paused this long without acking stops holding
   * it (ms): one hung tab must not freeze the session for every other viewer.
   */
  flowStallMs: number;
  /** Scrollback lines the screen mirror keeps for snapshots. */
  scrollback: number;
}

/** How to start the shell. `env` is complete: nothing of the worker's leaks in. */
export interface ShellSpec {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /**
   * Give the PTY's slave (`/dev/pts/N`) to this user, mode 0620, as login(1) does: the
   * shell's own programs may open it by name, other users may not write to it.
   */
  ttyOwner?: { uid: number; gid: number };
}

/** A tty's mode once given to its user: read-write for them, write for group tty (as login(1)). */
const TTY_MODE = 0o620;

/** What a session needs from its worker. */
export interface SessionHost {
  /**
   * Emits into the session's room; settles when handed to the transport, never rejects.
   * `false`: it could not be handed over (Redis unreachable), and is sent again.
   */
  emitOutput(event: TerminalOutputEvent): Promise<boolean | void>;
  /** The session ended; `closed` has been emitted (or is on its way). */
  onClosed(session: TerminalSession, reason: TerminalCloseReason, exitCode?: number, signal?: number): void;
}

/** A socket attached to the session. `acked` is the last `seq` it reported rendered. */
interface Attachment {
  gateway: string;
  acked: number;
  flowControl: boolean;
  /** When it last acked (or attached), `performance.now()` ms. */
  ackedAt: number;
  /** Attached under a hold whose release has not come: dropped if the hold lapses. */
  awaitingRelease: boolean;
}

/**
 * Output bytes sent in one coalescing window before batching starts: keystroke echoes
 * stay far below it and go out at once; a flood passes it within a window.
 */
const FLOOD_BYTES_PER_WINDOW = 16 * 1024;
/**
 * A chunk this large is sent without waiting for the window to end: per-event overhead is
 * already small against it, and waiting would only add latency to every flow-control
 * round (the benchmark saw throughput capped at one ~50 KB chunk per window).
 */
const EFFICIENT_CHUNK_CHARS = 32 * 1024;
/** A create/attach hold that is never released (its gateway died) lapses after this (ms). */
const HOLD_TIMEOUT_MS = 10_000;
/** While paused, how often to check whether the shell has exited, so its last output is drained (ms). */
const EXIT_WATCH_MS = 50;
/**
 * After an output chunk could not be handed to the transport, how long until it is sent
 * again (ms). Meanwhile new output waits (and pauses the PTY once it piles up), so the
 * live stream stays whole and in order.
 */
const EMIT_RETRY_MS = 250;
/** OSC 0 / OSC 2: set window title, ended by BEL or ST. */
const TITLE_PATTERN = /\x1b\][02];([^\x07\x1b]*)(?:\x07|\x1b\\)/g;

/**
 * One PTY and everything about it: output sequencing and replay, attachments, flow
 * control by acknowledged bytes, the create/attach hold, the idle timer, and exit.
 */
export class TerminalSession {
  readonly createdAt = new Date();
  lastActivity = new Date();
  title: string | undefined;
  cols: number;
  rows: number;

  private readonly pty: pty.IPty;
  private readonly replay: ReplayBuffer;
  private readonly mirror: ScreenMirror;
  private readonly attachments = new Map<string, Attachment>();
  private pending: string[] = [];
  private pendingChars = 0;
  private holds = 0;
  private holdTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private windowStart = 0;
  private windowBytes = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  /** The chunk the transport refused, sent again when {@link retryTimer} fires. */
  private unsent: TerminalOutputEvent | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private exitWatch: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private snapshotInFlight: Promise<string> | undefined;
  private paused = false;
  private exited: { exitCode: number; signal?: number } | undefined;
  private closed = false;
  private slaveFd: number | undefined;
  private readonly shellUid: number;

  constructor(
    readonly id: string,
    readonly user: string,
    shell: ShellSpec,
    cols: number,
    rows: number,
    private readonly limits: SessionLimits,
    private readonly host: SessionHost,
  ) {
    this.cols = cols;
    this.rows = rows;
    this.shellUid = shell.ttyOwner?.uid ?? process.getuid!();
    this.mirror = new ScreenMirror(cols, rows, limits.scrollback);
    this.replay = new ReplayBuffer(limits.replayBytes, (entry) => {
      if (entry.kind === 'output') this.mirror.write(entry.data);
      else this.mirror.resize(entry.cols, entry.rows);
    });
    // Spawned at the client's size, so the shell never starts at a wrong width (P04).
    this.pty = pty.spawn(shell.file, shell.args, {
      name: shell.env.TERM ?? 'xterm-256color',
      cols,
      rows,
      cwd: shell.cwd,
      env: shell.env,
      encoding: 'utf8', // a streaming decoder: a character split across reads arrives whole
    });
    const slave = slavePath(this.pty);
    if (shell.ttyOwner) {
      try {
        if (slave === undefined) throw new Error('node-pty did not name the PTY slave');
        chownSync(slave, shell.ttyOwner.uid, shell.ttyOwner.gid);
        chmodSync(slave, TTY_MODE);
      } catch (error) {
        this.pty.kill('SIGKILL'); // never leave a shell on a tty its user does not own
        throw error;
      }
    }
    this.slaveFd = slave === undefined ? undefined : holdSlaveOpen(slave);
    this.pty.onData((data) => this.onData(data));
    this.pty.onExit(({ exitCode, signal }) => {
      this.exited = signal ? { exitCode, signal } : { exitCode };
      this.releaseSlave();
      this.schedule();
    });
    this.startIdleTimer();
  }

  /** The uid the shell runs as. */
  get uid(): number {
    return this.shellUid;
  }

  /** The shell's pid, which is also its Unix session id. */
  get pid(): number {
    return this.pty.pid;
  }

  /** Output position (bytes) so far. */
  get seq(): number {
    return this.replay.end;
  }

  get attachedCount(): number {
    return this.attachments.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Adds (or refreshes) an attachment and holds output until {@link release}, so the
   * gateway can deliver the replay and join the room before live output flows. Returns
   * the replay after `since` (or the mirror's screen plus the buffer when `since` is
   * older than the buffer or absent).
   */
  async attach(
    socket: string,
    gateway: string,
    flowControl: boolean,
    since: number | undefined,
  ): Promise<{ data: string; seq: number; snapshot: boolean }> {
    this.hold();
    const replay = this.replay.since(since ?? 0);
    let data = replay.data;
    let snapshot = false;
    if (!replay.complete || (since === undefined && this.replay.start > 0)) {
      // Concurrent attaches (a reload restoring many windows, or abuse) share one parse.
      this.snapshotInFlight ??= this.mirror.snapshot().finally(() => {
        this.snapshotInFlight = undefined;
      });
      data = (await this.snapshotInFlight) + replay.data;
      snapshot = true;
    }
    const seq = this.replay.end;
    this.attachments.set(socket, {
      gateway,
      acked: seq,
      flowControl,
      ackedAt: performance.now(),
      awaitingRelease: true,
    });
    this.stopIdleTimer();
    this.updateFlow();
    return { data, seq, snapshot };
  }

  /** Holds output of a session just created for `socket`, which is attached at position 0. */
  attachCreator(socket: string, gateway: string, flowControl: boolean): void {
    this.hold();
    this.attachments.set(socket, { gateway, acked: 0, flowControl, ackedAt: performance.now(), awaitingRelease: true });
    this.stopIdleTimer();
  }

  /** Ends one hold (the one `socket` attached under, when given); output flows again when none is left. */
  release(socket?: string): void {
    const attachment = socket === undefined ? undefined : this.attachments.get(socket);
    if (attachment) attachment.awaitingRelease = false;
    if (this.holds === 0) return;
    this.holds--;
    if (this.holds === 0 && this.holdTimer) {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    }
    this.schedule();
  }

  detach(socket: string): void {
    if (!this.attachments.delete(socket)) return;
    this.afterDetach();
  }

  /** Drops every attachment held through a gateway that died. */
  detachGateway(gateway: string): void {
    let removed = false;
    for (const [socket, attachment] of this.attachments) {
      if (attachment.gateway === gateway) removed = this.attachments.delete(socket) || removed;
    }
    if (removed) this.afterDetach();
  }

  /** A client has rendered up to `seq`. */
  ack(socket: string, seq: number): void {
    const attachment = this.attachments.get(socket);
    if (!attachment) return;
    // An ack is a promise about the client's screen: it can neither go back nor pass what was sent.
    attachment.acked = Math.min(Math.max(attachment.acked, seq), this.replay.end);
    attachment.ackedAt = performance.now();
    attachment.flowControl = true;
    this.updateFlow();
  }

  write(data: string): void {
    if (this.closed || this.exited) return;
    this.lastActivity = new Date();
    // Someone is typing: a session that looks detached (its gateway was wrongly thought
    // dead) must not time out under their hands.
    if (this.attachments.size === 0) this.startIdleTimer();
    try {
      this.pty.write(data);
    } catch {
      // The PTY closed under us (the shell is exiting); its exit event ends the session.
    }
  }

  resize(cols: number, rows: number): void {
    if (this.closed || this.exited || (cols === this.cols && rows === this.rows)) return;
    try {
      this.pty.resize(cols, rows);
    } catch {
      // Resizing a PTY whose shell just exited throws (P03); the exit event follows.
      return;
    }
    this.cols = cols;
    this.rows = rows;
    this.replay.resize(cols, rows);
  }

  /** What `terminal:list` shows. */
  info(): TerminalSessionInfo {
    let cwd: string | undefined;
    try {
      cwd = readlinkSync(`/proc/${this.pty.pid}/cwd`);
    } catch {
      cwd = undefined; // not Linux, or the shell is gone
    }
    return {
      session_id: this.id,
      created_at: this.createdAt.toISOString(),
      last_activity: this.lastActivity.toISOString(),
      ...(cwd === undefined ? {} : { cwd }),
      cols: this.cols,
      rows: this.rows,
      seq: this.replay.end,
      ...(this.title === undefined ? {} : { title: this.title }),
      attached: this.attachments.size,
    };
  }

  /**
   * Ends the session for `reason`: SIGHUP to the shell (the worker kills what is left of
   * its Unix session), timers cleared, `host.onClosed` called once.
   */
  close(reason: TerminalCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of [
      this.flushTimer,
      this.retryTimer,
      this.idleTimer,
      this.holdTimer,
      this.exitWatch,
      this.stallTimer,
    ]) {
      clearTimeout(timer);
    }
    clearInterval(this.exitWatch);
    if (!this.exited) this.pty.kill('SIGHUP');
    this.releaseSlave();
    this.mirror.dispose();
    this.host.onClosed(this, reason, this.exited?.exitCode, this.exited?.signal);
  }

  private releaseSlave(): void {
    if (this.slaveFd === undefined) return;
    closeSync(this.slaveFd);
    this.slaveFd = undefined;
  }

  private onData(data: string): void {
    this.pending.push(data);
    this.pendingChars += data.length;
    this.schedule();
  }

  private hold(): void {
    this.holds++;
    this.holdTimer ??= setTimeout(() => {
      this.holdTimer = undefined;
      this.holds = 0;
      // Whoever attached under a hold that was never released never got its reply (the
      // gateway timed out or died): they are not attached, and must not keep the
      // session from timing out or hold its flow control.
      for (const [socket, attachment] of this.attachments) {
        if (attachment.awaitingRelease) this.attachments.delete(socket);
      }
      this.afterDetach();
      this.schedule();
    }, HOLD_TIMEOUT_MS);
  }

  /**
   * Sends pending output now, later, or not yet. A read goes out at once when nothing
   * is in flight and output is light (a keystroke echo); reads that arrive while a send
   * is in flight, or past the flood threshold, are coalesced into one chunk.
   */
  private schedule(): void {
    if (this.closed || this.holds > 0 || this.inFlight || this.flushTimer || this.retryTimer) {
      this.updateFlow();
      return;
    }
    if (this.unsent) {
      this.send(this.unsent);
      return;
    }
    if (this.pendingChars === 0) {
      if (this.exited) this.close('exit');
      return;
    }
    const now = performance.now();
    if (now - this.windowStart >= this.limits.coalesceMs) {
      this.windowStart = now;
      this.windowBytes = 0;
    }
    if (this.windowBytes < FLOOD_BYTES_PER_WINDOW || this.pendingChars >= EFFICIENT_CHUNK_CHARS || this.exited) {
      this.flush();
    } else {
      this.flushTimer = setTimeout(
        () => {
          this.flushTimer = undefined;
          this.schedule();
        },
        this.windowStart + this.limits.coalesceMs - now,
      );
    }
    this.updateFlow();
  }

  private flush(): void {
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    const bytes = Buffer.byteLength(data, 'utf8');
    this.windowBytes += bytes;
    this.replay.append(data, bytes);
    if (data.includes('\x1b]')) this.trackTitle(data);
    this.send({ session_id: this.id, data, seq: this.replay.end });
  }

  /**
   * Emits one chunk. A chunk the transport refuses is sent again, whole and with its own
   * `seq`, before anything newer: a client drops chunks whose `seq` it has (from a
   * replay) and appends the others, which is exact only at chunk boundaries.
   */
  private send(event: TerminalOutputEvent): void {
    this.inFlight = true;
    const settled = (sent: boolean | void): void => {
      this.inFlight = false;
      if (sent === false && !this.closed) {
        this.unsent = event;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.schedule();
        }, EMIT_RETRY_MS);
        this.updateFlow();
        return;
      }
      this.unsent = undefined;
      this.schedule();
    };
    this.host.emitOutput(event).then(settled, () => settled(false));
  }

  /**
   * Pauses the PTY while any acking client is more than the high watermark behind, or
   * while held output piles up; resumes once all are under the low watermark. Clients
   * that never ack (the original ChingTech OS client) do not hold the PTY.
   */
  private updateFlow(): void {
    if (this.closed) return;
    let behind = this.pendingChars;
    for (const attachment of this.attachments.values()) {
      if (attachment.flowControl) behind = Math.max(behind, this.replay.end - attachment.acked + this.pendingChars);
    }
    if (!this.paused && behind > this.limits.flowHighBytes) {
      this.paused = true;
      this.pty.pause();
      this.watchExitWhilePaused();
      this.stallTimer = setTimeout(() => this.releaseStalledClients(), this.limits.flowStallMs);
    } else if (this.paused && behind <= this.limits.flowLowBytes) {
      this.paused = false;
      this.pty.resume();
      clearInterval(this.exitWatch);
      this.exitWatch = undefined;
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    }
  }

  /** The PTY has been paused for the stall limit: clients that stopped acking stop holding it. */
  private releaseStalledClients(): void {
    this.stallTimer = undefined;
    if (this.closed || !this.paused) return;
    const cutoff = performance.now() - this.limits.flowStallMs;
    for (const attachment of this.attachments.values()) {
      if (attachment.flowControl && attachment.ackedAt <= cutoff) attachment.flowControl = false;
    }
    this.paused = false; // re-evaluated from scratch below
    this.pty.resume();
    clearInterval(this.exitWatch);
    this.exitWatch = undefined;
    this.updateFlow();
  }

  /**
   * node-pty reports exit only after the PTY's stream closes, and destroys the stream
   * 200 ms after the shell dies; a paused stream would lose the last output. So while
   * paused, watch the shell and resume reading as soon as it is gone (P02).
   */
  private watchExitWhilePaused(): void {
    clearInterval(this.exitWatch);
    this.exitWatch = setInterval(() => {
      if (isAlive(this.pty.pid)) return;
      clearInterval(this.exitWatch);
      this.exitWatch = undefined;
      this.pty.resume();
    }, EXIT_WATCH_MS);
  }

  private afterDetach(): void {
    if (this.attachments.size === 0) this.startIdleTimer();
    this.updateFlow();
  }

  private startIdleTimer(): void {
    this.stopIdleTimer();
    this.idleTimer = setTimeout(() => this.close('timeout'), this.limits.idleTimeoutMs);
  }

  private stopIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private trackTitle(data: string): void {
    for (const match of data.matchAll(TITLE_PATTERN)) this.title = match[1];
  }
}

/** The PTY slave's path (`/dev/pts/N`), where node-pty says it. */
function slavePath(terminal: pty.IPty): string | undefined {
  const name = (terminal as unknown as { _pty?: unknown })._pty;
  return typeof name === 'string' && name.startsWith('/dev/') ? name : undefined;
}

/**
 * Opens the PTY's slave side in the worker and keeps it open until the shell has exited.
 * On Linux, once the last slave descriptor closes, reading the master fails with EIO
 * while output may still sit in the kernel's buffer, so the tail of a fast command's
 * output is lost (node-pty#726, P02 in docs/pitfalls.md: 30 of 30 runs lost bytes here). With our
 * descriptor open the master never sees EIO; node-pty ends the stream 200 ms after the
 * exit instead, by which time the buffer is drained. O_NOCTTY: never become our
 * controlling terminal.
 */
function holdSlaveOpen(slave: string): number | undefined {
  try {
    return openSync(slave, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    return undefined; // without it we are as good as node-pty alone
  }
}
