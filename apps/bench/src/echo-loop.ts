/** A round trip that takes longer than this (ms) means the path is broken, not slow. */
const ROUND_TIMEOUT_MS = 10_000;

/** One echo path: how to send one byte, and how to hear it come back. */
export interface EchoPath {
  /** Sends one keystroke. */
  send(): void;
  /** Calls `onEcho` for every echo that arrives; returns a function that stops listening. */
  listen(onEcho: () => void): () => void;
}

/**
 * Sends one byte and waits for its echo, `warmup + rounds` times one after another, and
 * returns the last `rounds` round-trip times (ms). Nothing else is in flight, so each
 * sample is one keystroke's latency, as a person typing sees it.
 * @throws Error when an echo does not come back within ROUND_TIMEOUT_MS.
 */
export async function measureEcho(path: EchoPath, rounds: number, warmup: number): Promise<number[]> {
  const samples: number[] = [];
  let arrived: (() => void) | undefined;
  const stop = path.listen(() => {
    const resolve = arrived;
    arrived = undefined;
    resolve?.();
  });
  try {
    for (let i = 0; i < warmup + rounds; i++) {
      let timer: NodeJS.Timeout | undefined;
      const echoed = new Promise<void>((resolve, reject) => {
        arrived = resolve;
        timer = setTimeout(
          () => reject(new Error(`no echo within ${ROUND_TIMEOUT_MS} ms (round ${i})`)),
          ROUND_TIMEOUT_MS,
        );
      });
      const started = performance.now();
      path.send();
      await echoed;
      const elapsed = performance.now() - started;
      clearTimeout(timer);
      if (i >= warmup) samples.push(elapsed);
    }
  } finally {
    stop();
  }
  return samples;
}
