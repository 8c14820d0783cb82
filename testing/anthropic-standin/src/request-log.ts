import { EventEmitter } from 'node:events';
import type { ConnectionClose, RecordedRequest, RequestOutcome } from './recorded-request';

/** A {@link RecordedRequest} while its response is still being written. */
export type MutableRecord = { -readonly [K in keyof RecordedRequest]: RecordedRequest[K] };

/**
 * Every request a stand-in received and every response connection that closed, in order, with promises
 * that wait for a given one to arrive or close.
 */
export class RequestLog {
  readonly requests: MutableRecord[] = [];
  readonly closes: ConnectionClose[] = [];
  readonly #events = new EventEmitter();
  #closing = false;

  constructor() {
    // Tests may wait on many requests at once; that is not a leak.
    this.#events.setMaxListeners(0);
  }

  /** Adds a request whose body has arrived. */
  received(record: MutableRecord): void {
    this.requests.push(record);
    this.#events.emit('request', record);
  }

  /** Records that the connection of `record`'s response closed. */
  closed(record: MutableRecord, at: number, outcome: Exclude<RequestOutcome, 'open'>): void {
    record.closedAt = at;
    record.outcome = outcome;
    this.closes.push({ requestIndex: record.index, at, outcome });
    this.#events.emit('close', record);
  }

  /** From now on a wait that is not met at once fails: the stand-in is closing. */
  closing(): void {
    this.#closing = true;
  }

  /** Settles every pending wait once the stand-in has closed: with its request if it came, else with an error. */
  shutDown(): void {
    this.#events.emit('shutdown');
  }

  waitForRequest(index: number, timeoutMs: number): Promise<RecordedRequest> {
    return this.#waitFor('request', () => this.requests[index], `request #${index}`, timeoutMs);
  }

  waitForClose(index: number, timeoutMs: number): Promise<RecordedRequest> {
    const probe = (): RecordedRequest | undefined => {
      const record = this.requests[index];
      return record?.closedAt === undefined ? undefined : record;
    };
    return this.#waitFor('close', probe, `request #${index} to close`, timeoutMs);
  }

  #waitFor(
    event: 'request' | 'close',
    probe: () => RecordedRequest | undefined,
    what: string,
    timeoutMs: number,
  ): Promise<RecordedRequest> {
    const found = probe();
    if (found !== undefined) return Promise.resolve(found);
    if (this.#closing) return Promise.reject(new Error(`stand-in is closed; no ${what}`));
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const record = probe();
        if (record === undefined) return;
        cleanup();
        resolve(record);
      };
      const onShutdown = (): void => {
        cleanup();
        const record = probe();
        if (record === undefined) reject(new Error(`stand-in closed while waiting for ${what}`));
        else resolve(record);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#events.off(event, check);
        this.#events.off('shutdown', onShutdown);
      };
      this.#events.on(event, check);
      this.#events.on('shutdown', onShutdown);
    });
  }
}
