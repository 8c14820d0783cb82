import { chmodSync, chownSync, closeSync, constants as fsConstants, openSync, readlinkSync } from 'node:fs';
import * as pty from 'node-pty';
import {
  DisposableStore,
  type TerminalCloseReason,
  type TerminalOutputEvent,
  type TerminalSessionInfo,
} from '@ctos/protocol';
import type { AsciicastWriter } from './asciicast-writer';
import { PrintedOutput, type PrintedLimits } from './printed-output';
import type { ReplayObserver } from './replay-buffer';
import { FlowControl, type FlowLimits, type FlowObserver, type FlowReport } from './flow-control';
import { OutputPump } from './output-pump';

/** Limits and tuning of one session (flow control's and the printed output's included); all from configuration. */
export interface SessionLimits extends FlowLimits, PrintedLimits {
  /** A detached session is closed after this long (ms). */
  idleTimeoutMs: number;
  /** Under a flood, output goes out in chunks of about this many bytes (UTF-8). */
  outputChunkBytes: number;
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
  /** Told as it happens: flow control's pauses and stall releases, replay evictions and snapshots. */
  observer: FlowObserver & ReplayObserver;
}

/**
 * One PTY and its lifecycle: spawn (at the client's size, on a tty its user owns), input,
 * resize, replay and snapshots, the idle timer, and exit. Output goes out through its
 * {@link OutputPump}; attachments and watermarks are its {@link FlowControl}'s.
 */
export class TerminalSession {
  readonly createdAt = new Date();
  lastActivity = new Date();
  cols: number;
  rows: number;

  private readonly pty: pty.IPty;
  /** What it printed: replay buffer, screen mirror, title, recording. */
  private readonly printed: PrintedOutput;
  private readonly pump: OutputPump;
  private readonly flow: FlowControl;
  /** What the session owns besides the PTY itself, released when it closes. */
  private readonly owned = new DisposableStore();
  private idleTimer: NodeJS.Timeout | undefined;
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
    /** Where the session is recorded, if it is (closed with the session). */
    recording?: AsciicastWriter,
  ) {
    this.cols = cols;
    this.rows = rows;
    this.shellUid = shell.ttyOwner?.uid ?? process.getuid!();
    this.printed = new PrintedOutput(cols, rows, limits, host.observer, recording);
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
    const position = () => ({ end: this.printed.end, pending: this.pump.pendingBytes });
    const reading = {
      pid: this.pty.pid,
      pause: () => {
        this.pty.pause();
        this.pump.readingPaused();
      },
      resume: () => this.pty.resume(),
    };
    this.flow = this.owned.add(new FlowControl(limits, reading, position, host.observer));
    this.pump = this.owned.add(
      new OutputPump(id, limits.outputChunkBytes, {
        emit: (event) => this.host.emitOutput(event),
        record: (data, bytes) => this.printed.append(data, bytes),
        changed: () => this.flow.update(),
        drained: () => this.close('exit'),
        holdLapsed: (socket) => {
          this.flow.dropUnreleased(socket);
          this.afterDetach();
        },
      }),
    );
    this.owned.add(this.pty.onData((data) => this.pump.push(data)));
    this.owned.add(
      this.pty.onExit(({ exitCode, signal }) => {
        this.exited = signal ? { exitCode, signal } : { exitCode };
        this.releaseSlave();
        this.pump.markExited();
      }),
    );
    this.owned.add(this.printed);
    this.owned.defer(() => clearTimeout(this.idleTimer));
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
    return this.printed.end;
  }

  /** The last window title the shell set. */
  get title(): string | undefined {
    return this.printed.title;
  }

  get attachedCount(): number {
    return this.flow.size;
  }

  get isPaused(): boolean {
    return this.flow.isPaused;
  }

  /** Flow control's account of this session: unacknowledged bytes, who holds the PTY, pauses. */
  flowReport(): FlowReport {
    return this.flow.report();
  }

  /**
   * Adds (or refreshes) an attachment and holds output until {@link release}, so the
   * gateway can deliver the replay and join the room before live output flows. Returns
   * the replay after `since` (or the mirror's screen plus the buffer when the buffer no
   * longer reaches back to `since`, or to 0 without it).
   */
  async attach(
    socket: string,
    gateway: string,
    flowControl: boolean,
    since: number | undefined,
  ): Promise<{ data: string; seq: number; snapshot: boolean }> {
    this.pump.hold(socket);
    const { data, snapshot } = await this.printed.since(since);
    if (snapshot) this.host.observer.snapshot(snapshot);
    const seq = this.printed.end;
    this.flow.attach(socket, gateway, flowControl, seq);
    this.stopIdleTimer();
    this.flow.update();
    return { data, seq, snapshot: snapshot !== undefined };
  }

  /** What the session shows, as text: the screen and at most `scrollback` lines above it. */
  screen(scrollback: number): Promise<string> {
    return this.printed.screen(scrollback);
  }

  /** The end of what it printed, as text (see `PrintedOutput.printedText`); readable after it closed too. */
  printedText(maxBytes: number): Promise<{ text: string; truncated: boolean }> {
    return this.printed.printedText(maxBytes);
  }

  /** Holds output of a session just created for `socket`, which is attached at position 0. */
  attachCreator(socket: string, gateway: string, flowControl: boolean): void {
    this.pump.hold(socket);
    this.flow.attach(socket, gateway, flowControl, 0);
    this.stopIdleTimer();
  }

  /**
   * Ends the hold `socket` attached under; output flows again when none is left. A late
   * release, after the hold lapsed, ends nothing (another socket's hold stays).
   */
  release(socket: string): void {
    this.flow.released(socket);
    this.pump.release(socket);
  }

  detach(socket: string): void {
    if (this.flow.detach(socket)) this.afterDetach();
  }

  /** Drops the attachments made through `gateway` before it was declared dead (see FlowControl). */
  detachGateway(gateway: string, declaredAt: number): void {
    if (this.flow.detachGateway(gateway, declaredAt)) this.afterDetach();
  }

  /** A client has rendered up to `seq`. */
  ack(socket: string, seq: number): void {
    if (this.flow.ack(socket, seq)) this.flow.update();
  }

  write(data: string): void {
    if (this.closed || this.exited) return;
    this.lastActivity = new Date();
    // Someone is typing: a session that looks detached (its gateway was wrongly thought
    // dead) must not time out under their hands.
    if (this.flow.size === 0) this.startIdleTimer();
    try {
      this.pty.write(data);
      this.printed.typed(data);
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
    this.printed.resize(cols, rows);
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
      seq: this.printed.end,
      ...(this.title === undefined ? {} : { title: this.title }),
      attached: this.flow.size,
    };
  }

  /**
   * Ends the session for `reason`: SIGHUP to the shell (the worker kills what is left of
   * its Unix session), timers cleared, `host.onClosed` called once.
   */
  close(reason: TerminalCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    // Every release here is synchronous: no timer or listener of this session runs after.
    void this.owned.dispose();
    if (!this.exited) this.pty.kill('SIGHUP');
    this.releaseSlave();
    this.host.onClosed(this, reason, this.exited?.exitCode, this.exited?.signal);
  }

  private releaseSlave(): void {
    if (this.slaveFd === undefined) return;
    closeSync(this.slaveFd);
    this.slaveFd = undefined;
  }

  private afterDetach(): void {
    if (this.flow.size === 0) this.startIdleTimer();
    this.flow.update();
  }

  private startIdleTimer(): void {
    this.stopIdleTimer();
    this.idleTimer = setTimeout(() => this.close('timeout'), this.limits.idleTimeoutMs);
  }

  private stopIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
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
