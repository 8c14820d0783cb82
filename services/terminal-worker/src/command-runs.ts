import { ServiceError, type TerminalCloseReason, type TerminalRunOutcome } from '@ctos/protocol';
import type { TerminalSession } from './session';

/** How long the outcome of an ended run stays to be asked for (ms). */
const OUTCOME_KEPT_MS = 60_000;

/** One command run in a session of its own, from its start until its outcome is collected. */
interface Run {
  user: string;
  maxOutputBytes: number;
  timer: NodeJS.Timeout | undefined;
  timedOut: boolean;
  outcome: Promise<TerminalRunOutcome>;
  settle(outcome: TerminalRunOutcome): void;
}

/**
 * The commands the assistant runs in users' terminals (`run` on the bus): each is a
 * session of its own, killed at its timeout by this worker (whoever asked may be gone),
 * whose end is kept as a {@link TerminalRunOutcome} for `outcome` requests for a minute.
 */
export class CommandRuns {
  private readonly runs = new Map<string, Run>();
  /** Timers that forget ended runs. */
  private readonly forgetting = new Set<NodeJS.Timeout>();

  /** `session` runs a command for its user; `timeoutMs` (ms) from now it is closed. */
  started(session: TerminalSession, timeoutMs: number, maxOutputBytes: number): void {
    let settle!: (outcome: TerminalRunOutcome) => void;
    const outcome = new Promise<TerminalRunOutcome>((resolve) => (settle = resolve));
    const run: Run = { user: session.user, maxOutputBytes, timer: undefined, timedOut: false, outcome, settle };
    run.timer = setTimeout(() => {
      run.timedOut = true;
      session.close('timeout');
    }, timeoutMs);
    this.runs.set(session.id, run);
  }

  /**
   * How `user`'s run in session `sessionId` ended, once it has.
   * @throws ServiceError `NOT_FOUND`: no such run of this user here (or its outcome was
   * collected more than a minute after its end).
   */
  outcome(sessionId: string, user: string): Promise<TerminalRunOutcome> {
    const run = this.runs.get(sessionId);
    if (!run || run.user !== user) throw new ServiceError('NOT_FOUND', 'No such command run.');
    return run.outcome;
  }

  /** A session closed: when it was a run, its outcome is made from what it printed. */
  ended(session: TerminalSession, reason: TerminalCloseReason, exitCode?: number, signal?: number): void {
    const run = this.runs.get(session.id);
    if (!run) return;
    clearTimeout(run.timer);
    const exited = reason === 'exit';
    void session.printedText(run.maxOutputBytes).then(({ text, truncated }) => {
      run.settle({
        reason,
        exit_code: exited && !signal ? (exitCode ?? null) : null,
        signal: signal ? signal : null,
        timed_out: run.timedOut,
        output: text,
        output_bytes: session.seq,
        truncated,
      });
      const timer = setTimeout(() => {
        this.forgetting.delete(timer);
        this.runs.delete(session.id);
      }, OUTCOME_KEPT_MS);
      this.forgetting.add(timer);
    });
  }

  dispose(): void {
    for (const run of this.runs.values()) clearTimeout(run.timer);
    for (const timer of this.forgetting) clearTimeout(timer);
    this.forgetting.clear();
  }
}
