/**
 * A jest test environment that fails a test file which leaves something running: a timer,
 * a socket (a Redis or Socket.IO connection), a listening server, a child process, a pipe
 * or a terminal. VS Code's test suites do the same for undisposed disposables
 * (`ensureNoDisposablesAreLeakedInTestSuite`); here the check is of what keeps Node
 * running, so it sees what no owner registered too.
 *
 * How, after every `afterAll` of the file, waiting up to {@link SETTLE_MS} for what is
 * being closed to be gone (a socket's handle is freed a turn after its `close` callback):
 * - handles (sockets, servers, pipes, child processes, terminals): the count of each type
 *   in `process.getActiveResourcesInfo()` must be back to what it was at setup (what the
 *   jest process itself holds);
 * - timers: every `setTimeout`/`setInterval` made by the file (the test, and every module
 *   it loads) through the globals, `node:timers`, `node:timers/promises`' `setTimeout` or
 *   `util.promisify(setTimeout)` must have fired or been cleared. Timers are tracked one
 *   by one, not counted: jest's own timers come and go in the same process.
 * - child processes started through `node:child_process` must have exited, detached and
 *   unref'd ones included (they outlive jest).
 * An unref'd timer or handle other than a child process is not counted: it does not keep
 * a process alive. (`timers/promises`' `setInterval` iterator is not tracked.)
 *
 * A leak fails the file only when its tests passed: after a failed test or hook, what it
 * left running is most likely its consequence, and failing the file here would hide the
 * real failure (jest drops a file's test results when its environment's teardown
 * throws), so the leak is printed instead.
 *
 * Set as `testEnvironment` in `jest.config.js`; `testing/testkit/test/leak-check.test.ts`
 * proves that it fails a leaking file and passes a clean one.
 */
import type { Circus } from '@jest/types';
import childProcess, { type ChildProcess } from 'node:child_process';
import timers from 'node:timers';
import timersPromises from 'node:timers/promises';
import { promisify } from 'node:util';
import { TestEnvironment } from 'jest-environment-node';

/**
 * How long teardown waits for handles and timers that are being closed to be gone (ms).
 * A child process killed in `afterAll` may take a moment to be reaped; a leak never goes.
 */
const SETTLE_MS = 5_000;

/** How often teardown looks again while waiting (ms). */
const POLL_MS = 20;

/** The handle types counted, in words a test author knows. */
const HANDLES: Record<string, string> = {
  TCPSocketWrap: 'TCP connection (a Redis, Socket.IO or HTTP client or server side)',
  TCPServerWrap: 'listening TCP server',
  PipeWrap: 'pipe (a child process stdio or a Unix socket)',
  PipeServerWrap: 'listening Unix socket server',
  ProcessWrap: 'child process',
  TTYWrap: 'terminal stream (a PTY)',
  UDPWrap: 'UDP socket',
  FSEventWrap: 'file watcher',
  StatWatcher: 'file watcher (fs.watchFile)',
  SignalWrap: 'signal listener',
};

/** A Node timer, with the flag Node sets once it has fired (one-shot) or been cleared. */
type NodeTimer = NodeJS.Timeout & { _destroyed?: boolean };

/** Counts the active handles of the types in {@link HANDLES}, by type. */
function handleCensus(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) {
    if (type in HANDLES) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/**
 * `wrapper`, carrying every property of `original` (util.promisify.custom included, which
 * `exec`, `execFile` and `setTimeout` define), so that it can stand in for it.
 */
function standingIn<F extends (...args: never[]) => unknown>(
  original: F,
  wrapper: (...args: Parameters<F>) => unknown,
): F {
  const properties = Object.getOwnPropertyDescriptors(original) as Record<PropertyKey, PropertyDescriptor>;
  // Configurable, so that one may still be replaced (setTimeout's promisified form, below).
  for (const key of Reflect.ownKeys(properties)) properties[key] = { ...properties[key], configurable: true };
  return Object.defineProperties(wrapper, properties) as unknown as F;
}

/**
 * jest-environment-node with the leak check around each test file: the file's timers are
 * tracked from its globals, its handles counted against the count at setup.
 */
export default class LeakCheckEnvironment extends TestEnvironment {
  private baseline = new Map<string, number>();
  private readonly timers = new Set<NodeTimer>();
  private readonly children = new Set<ChildProcess>();
  /** Puts back what {@link track} replaced in the modules every test file shares. */
  private readonly restores: Array<() => void> = [];
  private failed = false;

  override async setup(): Promise<void> {
    await super.setup();
    this.trackTimers();
    this.trackChildren();
    this.baseline = handleCensus();
  }

  async handleTestEvent(event: Circus.Event): Promise<void> {
    if (event.name === 'test_done' && event.test.errors.length > 0) this.failed = true;
    if (event.name === 'hook_failure' || event.name === 'test_fn_failure') this.failed = true;
  }

  override async teardown(): Promise<void> {
    const left = await this.settle();
    for (const restore of this.restores.splice(0)) restore();
    await super.teardown();
    if (left.length === 0) return;
    const report =
      `leak check: this test file left running after its last afterAll:\n  ${left.join('\n  ')}\n` +
      'Give each an owner that disposes it (DisposableStore, afterAll); ' +
      'jest --detectOpenHandles shows where each was made.';
    if (this.failed) process.stderr.write(`${report}\n(not counted as a failure: a test of this file failed)\n`);
    else throw new Error(report);
  }

  /**
   * Records every timer the file makes: through its globals, and through the core modules
   * `timers` and `timers/promises` (shared by the whole jest process, so replaced only
   * for the file's time and put back at teardown).
   */
  private trackTimers(): void {
    const global = this.global as unknown as Record<string, unknown>;
    const track = <F extends (...args: never[]) => NodeTimer>(make: F): F =>
      standingIn(make, (...args: Parameters<F>) => {
        const timer = make(...args);
        this.timers.add(timer);
        return timer;
      });
    const trackedTimeout = track(global.setTimeout as typeof setTimeout);
    const sleep = this.trackedSleep(trackedTimeout);
    // util.promisify(setTimeout) and `timers/promises` sleep through a tracked timer too.
    Object.defineProperty(trackedTimeout, promisify.custom, { value: sleep });
    global.setTimeout = trackedTimeout;
    global.setInterval = track(global.setInterval as typeof setInterval);
    this.replace(timers, 'setTimeout', track(timers.setTimeout));
    this.replace(timers, 'setInterval', track(timers.setInterval));
    this.replace(timersPromises, 'setTimeout', sleep);
  }

  /** `timers/promises`' `setTimeout(ms, value, {signal, ref})`, on `setTimer`. */
  private trackedSleep(setTimer: typeof setTimeout): typeof timersPromises.setTimeout {
    return <T>(ms?: number, value?: T, options: { signal?: AbortSignal; ref?: boolean } = {}) =>
      new Promise<T>((resolve, reject) => {
        const { signal } = options;
        if (signal?.aborted) return reject(signal.reason as Error);
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(signal!.reason as Error);
        };
        const timer = setTimer(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve(value as T);
        }, ms);
        if (options.ref === false) timer.unref();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
  }

  /** Records every child process started through `child_process` while the file runs. */
  private trackChildren(): void {
    for (const name of ['spawn', 'fork', 'exec', 'execFile'] as const) {
      const start = childProcess[name] as (...args: unknown[]) => ChildProcess;
      this.replace(
        childProcess,
        name,
        standingIn(start, (...args: unknown[]) => {
          const child = start(...args);
          this.children.add(child);
          return child;
        }),
      );
    }
  }

  /** Sets `module[name]` to `value` until teardown. */
  private replace<M extends object, K extends keyof M>(module: M, name: K, value: unknown): void {
    const original = module[name];
    (module as Record<K, unknown>)[name] = value;
    this.restores.push(() => ((module as Record<K, unknown>)[name] = original));
  }

  /** What is running beyond the baseline now, as readable lines ("2 × child process (ProcessWrap)"). */
  private leftRunning(): string[] {
    const lines: string[] = [];
    for (const timer of this.timers) if (timer._destroyed || !timer.hasRef()) this.timers.delete(timer);
    if (this.timers.size > 0) lines.push(`${this.timers.size} × timer (setTimeout/setInterval) (Timeout)`);
    for (const child of this.children) {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) this.children.delete(child);
    }
    if (this.children.size > 0) {
      const pids = [...this.children].map((child) => child.pid).join(', ');
      lines.push(
        `${this.children.size} × child process started by the file, still running: pid ${pids} (ChildProcess)`,
      );
    }
    for (const [type, count] of handleCensus()) {
      const extra = count - (this.baseline.get(type) ?? 0);
      if (extra > 0) lines.push(`${extra} × ${HANDLES[type]} (${type})`);
    }
    return lines;
  }

  /** Waits until nothing runs beyond the baseline, or {@link SETTLE_MS} has passed; returns what is left. */
  private async settle(): Promise<string[]> {
    const deadline = Date.now() + SETTLE_MS;
    let left = this.leftRunning();
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => setTimeout(resolve, POLL_MS).unref());
      left = this.leftRunning();
    }
    return left;
  }
}
