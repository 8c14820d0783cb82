import { ServiceError, isErrorCode } from '@ctos/protocol';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  type Bus,
  type InboxHandler,
  type Registry,
  type RequestOptions,
  type RequestTarget,
} from './types';

/** What travels in an inbox: a request (with its reply address) or a send. */
export type Envelope = { t: 'q'; r: number; f: string; b: unknown } | { t: 's'; b: unknown };

/** What travels back to a requester. */
export type ReplyEnvelope = { r: number; ok: true; b: unknown } | { r: number; ok: false; code: string; error: string };

/**
 * Storage and delivery under a {@link Bus}: Redis Streams and pub/sub in distributed
 * mode, in-process queues in embedded mode.
 */
export interface BusBackend {
  /** Appends to `worker`'s inbox; resolves once the inbox holds it. */
  deliver(worker: string, envelope: Envelope): Promise<void>;
  /** Sends a reply to `requester`'s reply address. */
  reply(requester: string, reply: ReplyEnvelope): Promise<void>;
  /** Starts hearing replies addressed to this endpoint; resolves when listening. */
  listenReplies(onReply: (reply: ReplyEnvelope) => void): Promise<void>;
  /** Starts reading this endpoint's inbox, in order. */
  consume(onEnvelope: (envelope: Envelope) => void): void;
  dispose(): Promise<void>;
}

/**
 * True for a backend error that means "written, but the answer was lost" (the Redis
 * build's `OutcomeUnknownError`): the message may have been delivered.
 */
function outcomeUnknown(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'OutcomeUnknownError';
}

/** Hooks to observe the bus (logs, metrics). */
export interface BusObserver {
  /** A handler threw something other than a `ServiceError`: a bug. */
  onHandlerError?(error: unknown): void;
  /** A request finished (ms, and its outcome code or `ok`). */
  onRequestDone?(durationMs: number, outcome: string): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout;
}

/** The request/reply and ordered-send logic shared by both bus implementations. */
export class EndpointBus implements Bus {
  private readonly pending = new Map<number, Pending>();
  private nextRequestId = 1;
  private readonly ready: Promise<void>;
  /** True once replies can be heard. */
  private listening = false;
  private serving = false;
  private disposed = false;

  constructor(
    readonly id: string,
    private readonly backend: BusBackend,
    private readonly registry: Registry,
    private readonly observer: BusObserver = {},
  ) {
    this.ready = backend.listenReplies((reply) => this.settle(reply));
    this.ready.then(
      () => (this.listening = true),
      // Until the first request awaits it, a failure to listen is reported there.
      () => undefined,
    );
  }

  async request<T>(target: RequestTarget, body: unknown, options: RequestOptions = {}): Promise<T> {
    const started = performance.now();
    try {
      const result = await this.requestOnce<T>(target, body, options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
      this.observer.onRequestDone?.(performance.now() - started, 'ok');
      return result;
    } catch (error) {
      this.observer.onRequestDone?.(
        performance.now() - started,
        error instanceof ServiceError ? error.code : 'INTERNAL',
      );
      throw error;
    }
  }

  private async requestOnce<T>(target: RequestTarget, body: unknown, timeoutMs: number): Promise<T> {
    if (this.disposed) throw new ServiceError('UNAVAILABLE', 'This process is shutting down.');
    this.refuseDuringOutage();
    if (!this.listening) await this.waitUntilListening(timeoutMs);
    const worker = 'worker' in target ? target.worker : (await this.registry.pick(target.kind)).id;
    const r = this.nextRequestId++;
    const reply = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(r);
        reject(new ServiceError('TIMEOUT', 'The service did not answer in time; try again.'));
      }, timeoutMs);
      this.pending.set(r, { resolve: resolve as (value: unknown) => void, reject, timer });
    });
    // A worker may refuse before the write is confirmed, while nothing awaits `reply` yet:
    // that is no unhandled rejection (the caller still gets it, below).
    reply.catch(() => undefined);
    try {
      await this.backend.deliver(worker, { t: 'q', r, f: this.id, b: body });
    } catch (error) {
      // Written but unconfirmed (the connection dropped): it may have arrived, so its
      // reply, or the timeout, says how it went.
      if (!outcomeUnknown(error)) {
        this.settle({
          r,
          ok: false,
          code: 'UNAVAILABLE',
          error: 'The message bus cannot be reached; try again shortly.',
        });
      }
    }
    return reply;
  }

  async send(worker: string, body: unknown, options: RequestOptions = {}): Promise<void> {
    if (this.disposed) throw new ServiceError('UNAVAILABLE', 'This process is shutting down.');
    this.refuseDuringOutage();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
    });
    try {
      const delivered = this.backend.deliver(worker, { t: 's', b: body });
      // If it is late, it may still land; its outcome no longer reaches anyone.
      delivered.catch(() => undefined);
      if ((await Promise.race([delivered, late])) === 'late') {
        throw new ServiceError('TIMEOUT', 'The message bus did not confirm in time; it may still arrive.');
      }
    } catch (error) {
      if (error instanceof ServiceError) throw error;
      if (outcomeUnknown(error)) {
        throw new ServiceError(
          'TIMEOUT',
          'The connection dropped before the message bus confirmed; it may have arrived.',
        );
      }
      throw new ServiceError('UNAVAILABLE', 'The message bus cannot be reached; try again shortly.');
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * While the registry knows its backend is down or not answering (Redis stopped or
   * paused), a send or request is refused at once with `UNAVAILABLE` and nothing is
   * written: it cannot run later by surprise, and the caller is not left waiting.
   */
  private refuseDuringOutage(): void {
    if (this.registry.healthy) return;
    throw new ServiceError('UNAVAILABLE', 'The message bus cannot be reached; try again shortly.');
  }

  /** Waits up to `timeoutMs` for the reply subscription (Redis was down when this process started). */
  private async waitUntilListening(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    try {
      const outcome = await Promise.race([this.ready, gaveUp]);
      if (outcome === 'late') throw new Error('not listening yet');
    } catch {
      throw new ServiceError('UNAVAILABLE', 'The message bus cannot be reached; try again shortly.');
    } finally {
      clearTimeout(timer);
    }
  }

  serve(handler: InboxHandler): void {
    if (this.serving) throw new Error(`bus endpoint ${this.id} already serves a handler`);
    this.serving = true;
    this.backend.consume((envelope) => this.dispatch(handler, envelope));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const [r, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new ServiceError('UNAVAILABLE', 'This process is shutting down.'));
      this.pending.delete(r);
    }
    await this.backend.dispose();
  }

  private dispatch(handler: InboxHandler, envelope: Envelope): void {
    if (envelope.t === 's') {
      try {
        const result = handler(envelope.b, 'send');
        if (result instanceof Promise) result.catch((error: unknown) => this.reportHandlerError(error));
      } catch (error) {
        this.reportHandlerError(error);
      }
      return;
    }
    const { r, f } = envelope;
    const answer = (reply: ReplyEnvelope): void => {
      // A lost reply shows up as the requester's TIMEOUT; nothing more to do here.
      this.backend.reply(f, reply).catch(() => undefined);
    };
    let outcome: unknown;
    try {
      outcome = handler(envelope.b, 'request');
    } catch (error) {
      answer(this.toFailure(r, error));
      return;
    }
    Promise.resolve(outcome).then(
      (b) => answer({ r, ok: true, b: b ?? null }),
      (error: unknown) => answer(this.toFailure(r, error)),
    );
  }

  private toFailure(r: number, error: unknown): ReplyEnvelope {
    if (error instanceof ServiceError) return { r, ok: false, code: error.code, error: error.message };
    this.reportHandlerError(error);
    return { r, ok: false, code: 'INTERNAL', error: 'Something went wrong on our side; it has been logged.' };
  }

  private reportHandlerError(error: unknown): void {
    if (error instanceof ServiceError) return;
    this.observer.onHandlerError?.(error);
  }

  private settle(reply: ReplyEnvelope): void {
    const pending = this.pending.get(reply.r);
    if (!pending) return; // timed out already
    this.pending.delete(reply.r);
    clearTimeout(pending.timer);
    if (reply.ok) pending.resolve(reply.b);
    else pending.reject(new ServiceError(isErrorCode(reply.code) ? reply.code : 'INTERNAL', reply.error));
  }
}
