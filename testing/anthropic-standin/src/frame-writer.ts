import type { ServerResponse } from 'node:http';
import { ConnectionGone, sleep } from './cancellable-sleep';
import { encodeFrame, splitFrame } from './sse-frames';
import type { WireFormat } from './reply';

function writeChunk(res: ServerResponse, chunk: Buffer, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new ConnectionGone());
  return new Promise((resolve, reject) => {
    // A write to a socket the client stopped reading may never complete; the abort is what ends the wait.
    const onAbort = (): void => reject(new ConnectionGone());
    signal.addEventListener('abort', onAbort, { once: true });
    res.write(chunk, (error) => {
      signal.removeEventListener('abort', onAbort);
      if (error) reject(new ConnectionGone());
      else resolve();
    });
  });
}

/**
 * Writes SSE frames to one response in the layout a {@link WireFormat} asks for. Each write waits until
 * the previous one left the process, so that pieces are not coalesced into one TCP segment behind the
 * test's back and a slow reader gets backpressure rather than an unbounded buffer.
 */
export class FrameWriter {
  readonly #res: ServerResponse;
  readonly #signal: AbortSignal;
  readonly #wire: Required<WireFormat>;
  #frames = 0;
  #wroteAny = false;

  constructor(res: ServerResponse, wire: WireFormat, signal: AbortSignal) {
    this.#res = res;
    this.#signal = signal;
    this.#wire = {
      lineEnding: wire.lineEnding ?? '\n',
      split: wire.split ?? 'frame',
      flushDelayMs: wire.flushDelayMs ?? 0,
    };
  }

  /**
   * Sends one frame whose event name is `payload.type`.
   *
   * @throws ConnectionGone once the connection is gone.
   */
  async send(payload: { readonly type: string }): Promise<void> {
    const frame = encodeFrame(payload, this.#wire.lineEnding);
    const pieces = splitFrame(frame, this.#wire.split, { event: payload.type, index: this.#frames++ });
    for (const piece of pieces) {
      if (this.#wroteAny) await sleep(this.#wire.flushDelayMs, this.#signal);
      await writeChunk(this.#res, piece, this.#signal);
      this.#wroteAny = true;
    }
  }
}
