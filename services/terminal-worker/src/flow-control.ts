import { isAlive } from './process-tree';

/** While paused, how often to check whether the shell has exited, so its last output is drained (ms). */
const EXIT_WATCH_MS = 50;

/** The watermarks and the stall limit (all from configuration). */
export interface FlowLimits {
  /** Pause the PTY when an acking client is this many bytes behind (VS Code: 100,000). */
  flowHighBytes: number;
  /** Resume once every acking client is at most this many bytes behind (VS Code: 5,000). */
  flowLowBytes: number;
  /**
   * An acking client that has held the PTY paused this long without acking stops holding
   * it (ms): one hung tab must not freeze the session for every other viewer.
   */
  flowStallMs: number;
}

/** What flow control pauses: the PTY's reading side, and the shell's pid to watch. */
export interface FlowTarget {
  pause(): void;
  resume(): void;
  readonly pid: number;
}

/** What flow control tells its owner as it happens (the worker counts it in its metrics). */
export interface FlowObserver {
  /** The PTY was paused. */
  paused(): void;
  /** `viewers` acking clients stopped holding the PTY at the stall limit. */
  stallReleased(viewers: number): void;
}

/** One attachment as {@link FlowReport} shows it. */
export interface AttachmentReport {
  socket: string;
  /** Holds the PTY when behind (it acks, or said it would); false once released at the stall limit. */
  flowControl: boolean;
  /** Bytes it has not acknowledged: sent to it and not acked, and read but not sent yet. */
  unackedBytes: number;
}

/**
 * Flow control's own account of a session, read by the metrics and the tests: how much
 * output it holds against its clients, who holds the PTY, and what it has done.
 */
export interface FlowReport {
  paused: boolean;
  /**
   * Output the slowest acking client has not acknowledged, read-but-unsent output
   * included (bytes): what the watermarks are compared with.
   */
  unackedBytes: number;
  /**
   * The most {@link unackedBytes} has been since the session started. Flow control keeps
   * it at most the high watermark plus one PTY read, except when a shell exits while
   * paused: its last output is then read (P02), up to one more high watermark.
   */
  peakUnackedBytes: number;
  /** Read from the PTY and not handed to the transport yet (bytes). */
  pendingBytes: number;
  /** Times the PTY was paused. */
  pauses: number;
  /** Acking clients that stopped holding the PTY at the stall limit. */
  stallReleases: number;
  /** The sockets that keep the PTY paused: acking clients more than the low watermark behind. */
  holders: string[];
  attachments: AttachmentReport[];
}

/** A socket attached to the session. `acked` is the last `seq` it reported rendered. */
interface Attachment {
  gateway: string;
  acked: number;
  flowControl: boolean;
  /** When it last acked (or attached), `performance.now()` ms. */
  ackedAt: number;
  /** When it attached, `performance.now()` ms: a death of its gateway declared later does not drop it. */
  attachedAt: number;
  /** Attached under a hold whose release has not come: dropped if the hold lapses. */
  awaitingRelease: boolean;
}

/**
 * The sockets attached to one session and flow control by acknowledged bytes (VS Code's
 * scheme): the PTY is paused while any acking client is more than the high watermark
 * behind, or while held output piles up, and resumed once all are under the low
 * watermark. Clients that never ack (the original ChingTech OS client) do not hold it.
 */
export class FlowControl {
  private readonly attachments = new Map<string, Attachment>();
  private paused = false;
  private peakUnacked = 0;
  private pauses = 0;
  private stallReleases = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private exitWatch: NodeJS.Timeout | undefined;
  /**
   * The shell died while the PTY was paused and reading resumed for its last output: the
   * most {@link unacked} may reach before reading stops again (what still writes then is
   * a job the shell left behind, and the session is ending).
   */
  private readingAfterExitUpTo: number | undefined;
  private disposed = false;

  /**
   * @param position where output stands: `end`, the session's output position (bytes),
   * and `pending`, bytes read from the PTY but not sent yet.
   */
  constructor(
    private readonly limits: FlowLimits,
    private readonly target: FlowTarget,
    private readonly position: () => { end: number; pending: number },
    private readonly observer: FlowObserver,
  ) {}

  get size(): number {
    return this.attachments.size;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Adds (or refreshes) `socket`, at position `acked`, waiting for its hold's release. */
  attach(socket: string, gateway: string, flowControl: boolean, acked: number): void {
    const now = performance.now();
    this.attachments.set(socket, { gateway, acked, flowControl, ackedAt: now, attachedAt: now, awaitingRelease: true });
  }

  /** `socket`'s hold was released: it is attached for good. */
  released(socket: string): void {
    const attachment = this.attachments.get(socket);
    if (attachment) attachment.awaitingRelease = false;
  }

  /** True when `socket` was attached. */
  detach(socket: string): boolean {
    return this.attachments.delete(socket);
  }

  /**
   * Drops every attachment made through `gateway` up to `declaredAt` (`performance.now()`
   * ms), when the cluster declared it dead; true when there was one. Those made after are
   * kept: a gateway declared dead while alive has its clients attach again, and the
   * news of its death may reach this worker after they did.
   */
  detachGateway(gateway: string, declaredAt: number): boolean {
    let removed = false;
    for (const [socket, attachment] of this.attachments) {
      if (attachment.gateway === gateway && attachment.attachedAt <= declaredAt) {
        removed = this.attachments.delete(socket) || removed;
      }
    }
    return removed;
  }

  /**
   * `socket`'s hold lapsed without its release: it never got its reply (the gateway timed
   * out or died), so it is not attached and must not hold the session. Other sockets'
   * attachments, released or still within their time, stay.
   */
  dropUnreleased(socket: string): void {
    if (this.attachments.get(socket)?.awaitingRelease) this.attachments.delete(socket);
  }

  /** `socket` has rendered up to `seq`. */
  ack(socket: string, seq: number): boolean {
    const attachment = this.attachments.get(socket);
    if (!attachment) return false;
    const { end } = this.position();
    // An ack is a promise about the client's screen: it can neither go back nor pass what was sent.
    attachment.acked = Math.min(Math.max(attachment.acked, seq), end);
    attachment.ackedAt = performance.now();
    attachment.flowControl = true;
    return true;
  }

  /** Pauses or resumes the PTY for where output stands now. */
  update(): void {
    if (this.disposed) return;
    // Called after every read from the PTY (the pump reports each), so the peak sees every step.
    const behind = this.unacked();
    this.peakUnacked = Math.max(this.peakUnacked, behind);
    if (!this.paused && behind > this.limits.flowHighBytes) {
      this.paused = true;
      this.pauses++;
      this.target.pause();
      this.observer.paused();
      this.watchExitWhilePaused();
      this.stallTimer = setTimeout(() => this.releaseStalledClients(), this.limits.flowStallMs);
    } else if (this.paused && behind <= this.limits.flowLowBytes) {
      this.resumeReading();
    } else if (this.readingAfterExitUpTo !== undefined && behind > this.readingAfterExitUpTo) {
      this.readingAfterExitUpTo = undefined;
      this.target.pause();
    }
  }

  /** Where flow control stands now, and what it has done. */
  report(): FlowReport {
    const { end, pending } = this.position();
    const attachments: AttachmentReport[] = [];
    for (const [socket, attachment] of this.attachments) {
      attachments.push({ socket, flowControl: attachment.flowControl, unackedBytes: end - attachment.acked + pending });
    }
    const unackedBytes = this.unacked();
    return {
      paused: this.paused,
      unackedBytes,
      peakUnackedBytes: Math.max(this.peakUnacked, unackedBytes),
      pendingBytes: pending,
      pauses: this.pauses,
      stallReleases: this.stallReleases,
      holders: attachments
        .filter((a) => a.flowControl && a.unackedBytes > this.limits.flowLowBytes)
        .map((a) => a.socket),
      attachments,
    };
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.stallTimer);
    clearInterval(this.exitWatch);
  }

  private resumeReading(): void {
    this.paused = false;
    this.readingAfterExitUpTo = undefined;
    this.target.resume();
    clearInterval(this.exitWatch);
    this.exitWatch = undefined;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** The PTY has been paused for the stall limit: clients that stopped acking stop holding it. */
  private releaseStalledClients(): void {
    this.stallTimer = undefined;
    if (this.disposed || !this.paused) return;
    const cutoff = performance.now() - this.limits.flowStallMs;
    const { end, pending } = this.position();
    let released = 0;
    for (const attachment of this.attachments.values()) {
      // Only a client that holds the PTY: one that has acked everything sent to it had
      // nothing to ack while paused, however long ago its last ack was.
      const holding = end - attachment.acked + pending > this.limits.flowLowBytes;
      if (attachment.flowControl && holding && attachment.ackedAt <= cutoff) {
        attachment.flowControl = false;
        released++;
      }
    }
    if (released > 0) {
      this.stallReleases += released;
      this.observer.stallReleased(released);
    }
    this.resumeReading(); // re-evaluated from scratch below
    this.update();
  }

  /** Bytes the slowest acking client is behind, or held output alone when none acks. */
  private unacked(): number {
    const { end, pending } = this.position();
    let behind = pending;
    for (const attachment of this.attachments.values()) {
      if (attachment.flowControl) behind = Math.max(behind, end - attachment.acked + pending);
    }
    return behind;
  }

  /**
   * node-pty reports exit only after the PTY's stream closes, and destroys the stream
   * 200 ms after the shell dies; a paused stream would lose the last output. So while
   * paused, watch the shell and resume reading as soon as it is gone (P02) — for one more
   * high watermark at most: a job the shell left behind (`yes &`) may write on, and a
   * client that does not ack must not get it all.
   */
  private watchExitWhilePaused(): void {
    clearInterval(this.exitWatch);
    this.exitWatch = setInterval(() => {
      if (isAlive(this.target.pid)) return;
      clearInterval(this.exitWatch);
      this.exitWatch = undefined;
      this.readingAfterExitUpTo = this.unacked() + this.limits.flowHighBytes;
      this.target.resume();
    }, EXIT_WATCH_MS);
  }
}
