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
 * - timers: every `setTimeout`/`setInterval` made through the file's globals (the test,
 *   and every module it loads) must have fired or been cleared. Timers are tracked one by
 *   one, not counted: jest's own timers come and go in the same process.
 * An unref'd timer or handle is not counted: it does not keep a process alive.
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
 * jest-environment-node with the leak check around each test file: the file's timers are
 * tracked from its globals, its handles counted against the count at setup.
 */
export default class LeakCheckEnvironment extends TestEnvironment {
  private baseline = new Map<string, number>();
  private readonly timers = new Set<NodeTimer>();
  private failed = false;

  override async setup(): Promise<void> {
    await super.setup();
    this.trackTimers();
    this.baseline = handleCensus();
  }

  async handleTestEvent(event: Circus.Event): Promise<void> {
    if (event.name === 'test_done' && event.test.errors.length > 0) this.failed = true;
    if (event.name === 'hook_failure' || event.name === 'test_fn_failure') this.failed = true;
  }

  override async teardown(): Promise<void> {
    const left = await this.settle();
    await super.teardown();
    if (left.length === 0) return;
    const report =
      `leak check: this test file left running after its last afterAll:\n  ${left.join('\n  ')}\n` +
      'Give each an owner that disposes it (DisposableStore, afterAll); ' +
      'jest --detectOpenHandles shows where each was made.';
    if (this.failed) process.stderr.write(`${report}\n(not counted as a failure: a test of this file failed)\n`);
    else throw new Error(report);
  }

  /** Records every timer made through the file's `setTimeout` and `setInterval`. */
  private trackTimers(): void {
    const global = this.global as unknown as Record<'setTimeout' | 'setInterval', (...args: unknown[]) => NodeTimer>;
    for (const name of ['setTimeout', 'setInterval'] as const) {
      const make = global[name];
      const tracked = (...args: unknown[]): NodeTimer => {
        const timer = make(...args);
        this.timers.add(timer);
        return timer;
      };
      // util.promisify(setTimeout) and friends keep working.
      global[name] = Object.assign(tracked, make);
    }
  }

  /** What is running beyond the baseline now, as readable lines ("2 × child process (ProcessWrap)"). */
  private leftRunning(): string[] {
    const lines: string[] = [];
    for (const timer of this.timers) if (timer._destroyed || !timer.hasRef()) this.timers.delete(timer);
    if (this.timers.size > 0) lines.push(`${this.timers.size} × timer (setTimeout/setInterval) (Timeout)`);
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
