import { ServiceError, type Disposable } from '@ctos/protocol';
import { ReportedRefusal } from './bind-event';
import type { TerminalLink } from './terminal-link';

/**
 * While the bus refuses a held keystroke (Redis unreachable), it is offered again this
 * often (ms): short against the hold (BUS_REQUEST_TIMEOUT_MS), so input goes out within
 * a tenth of a second of Redis answering, and cheap, since a refusal costs no round trip.
 */
const HELD_INPUT_RETRY_MS = 100;

/** One `terminal:input` on its way; settles once, when delivered or given up. */
interface PendingInput {
  data: string;
  /** UTF-8 length of `data`. */
  bytes: number;
  /** When it arrived (performance.now() ms): it is held at most BUS_REQUEST_TIMEOUT_MS from here. */
  arrived: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * One socket's keystrokes on their way to the shells: per session, in the order typed,
 * one write to the bus at a time, each written at most once.
 *
 * A Redis blip must not cost keystrokes nor type them twice or out of order. The bus
 * refuses a send it cannot write (`UNAVAILABLE`: nothing was written) and reports one
 * whose outcome it cannot know (`TIMEOUT`: written, unconfirmed). So an input the bus
 * refuses is held and offered again until BUS_REQUEST_TIMEOUT_MS (ms) after it arrived,
 * and what was typed behind it waits: an outage shorter than that costs nothing, and
 * every keystroke reaches the shell once, in order. When an input fails for good (its
 * hold ran out, or its write was not confirmed), everything queued behind it fails too,
 * with `UNAVAILABLE` ("not sent"): the shell gets what was typed up to the failure, never
 * a line with a hole in it. Each input answers its own ack; without acks the client
 * hears one `terminal:error` per failure, counting what was not sent behind it. Held
 * input is bounded per socket by TERMINAL_INPUT_BURST_BYTES.
 */
export class InputRelay implements Disposable {
  private readonly queues = new Map<string, PendingInput[]>();
  private heldBytes = 0;
  /** Retry waits in progress, each with the resolve that ends it early (on dispose). */
  private readonly waits = new Map<NodeJS.Timeout, () => void>();
  private disposed = false;

  constructor(
    private readonly link: TerminalLink,
    private readonly user: string,
  ) {}

  /**
   * Queues `data` (`bytes` long in UTF-8) for session `sessionId`; resolves once the
   * worker's inbox holds it.
   * @throws ServiceError `NOT_FOUND` (not the user's session), `UNAVAILABLE` (not sent:
   * Redis stayed unreachable, input before it failed, the socket closed, or too much is
   * held), `TIMEOUT` (written but unconfirmed: it may have reached the shell).
   */
  send(sessionId: string, data: string, bytes: number): Promise<void> {
    if (this.disposed) return Promise.reject(new ServiceError('UNAVAILABLE', 'This connection is closing.'));
    const limit = this.link.context.config.TERMINAL_INPUT_BURST_BYTES;
    if (this.heldBytes > 0 && this.heldBytes + bytes > limit) {
      return Promise.reject(
        new ServiceError(
          'UNAVAILABLE',
          `Input not sent: the terminal server is unreachable and ${this.heldBytes} bytes typed before are still waiting.`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(sessionId);
      const idle = !queue;
      if (!queue) this.queues.set(sessionId, (queue = []));
      queue.push({ data, bytes, arrived: performance.now(), resolve, reject });
      this.heldBytes += bytes;
      if (idle) void this.pump(sessionId, queue);
    });
  }

  /** Fails what is still queued (`UNAVAILABLE`: the socket is gone) and stops every retry. */
  dispose(): void {
    this.disposed = true;
    for (const [timer, wake] of this.waits) {
      clearTimeout(timer);
      wake();
    }
    this.waits.clear();
    for (const queue of this.queues.values()) {
      for (const input of queue.splice(0)) input.reject(new ServiceError('UNAVAILABLE', 'This connection closed.'));
    }
    this.queues.clear();
    this.heldBytes = 0;
  }

  /** Delivers `queue` head first until it is empty; runs once per session at a time. */
  private async pump(sessionId: string, queue: PendingInput[]): Promise<void> {
    while (queue.length > 0 && !this.disposed) {
      const head = queue[0]!;
      let failure: unknown;
      try {
        await this.deliver(sessionId, head);
      } catch (error) {
        failure = error;
      }
      if (this.disposed) return; // dispose() has answered everything
      queue.shift();
      this.heldBytes -= head.bytes;
      if (failure === undefined) {
        head.resolve();
        continue;
      }
      // Not the user's session (or it ended): nothing was lost on the way, and each input
      // behind it is answered for itself (NOT_FOUND too), not as "not sent".
      if (failure instanceof ServiceError && failure.code === 'NOT_FOUND') {
        head.reject(failure);
        continue;
      }
      const behind = queue.splice(0);
      head.reject(withFollowers(failure, behind.length));
      for (const input of behind) {
        this.heldBytes -= input.bytes;
        input.reject(
          new ReportedRefusal('UNAVAILABLE', 'Input not sent: what was typed before it did not reach the terminal.'),
        );
      }
    }
    if (this.queues.get(sessionId) === queue) this.queues.delete(sessionId);
  }

  /** Writes one input to the session's worker, offering it again while the bus refuses it and its hold lasts. */
  private async deliver(sessionId: string, input: PendingInput): Promise<void> {
    const holdMs = this.link.context.config.BUS_REQUEST_TIMEOUT_MS;
    for (;;) {
      if (this.disposed) throw new ServiceError('UNAVAILABLE', 'This connection closed.');
      try {
        const record = await this.link.directory.owned(sessionId, this.user);
        await this.link.send(record.worker, { op: 'input', session_id: sessionId, data: input.data });
        return;
      } catch (error) {
        if (error instanceof ServiceError && error.code === 'TIMEOUT') {
          throw new ServiceError(
            'TIMEOUT',
            'Input may not have reached the terminal: the server lost its connection before confirming it.',
          );
        }
        const refused = error instanceof ServiceError && error.code === 'UNAVAILABLE';
        if (!refused) throw error;
        if (performance.now() - input.arrived >= holdMs) {
          throw new ServiceError(
            'UNAVAILABLE',
            `Input not sent: the terminal server was unreachable for ${holdMs} ms; type it again.`,
          );
        }
        await this.pause(HELD_INPUT_RETRY_MS);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waits.delete(timer);
        resolve();
      }, ms);
      this.waits.set(timer, resolve);
    });
  }
}

/** `error`, saying also that `followers` inputs typed after it were not sent (they report nothing of their own). */
function withFollowers(error: unknown, followers: number): unknown {
  if (followers === 0 || !(error instanceof ServiceError)) return error;
  const more = followers === 1 ? 'the input typed after it was' : `the ${followers} inputs typed after it were`;
  return new ServiceError(error.code, `${error.message} (${more} not sent either.)`);
}
