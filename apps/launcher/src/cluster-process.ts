import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, statSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/** Lines kept in memory per process, for error messages (the log file has them all). */
const RECENT_LINES = 50;

/** How long one process may take to print its `listening` line (ms): a cold Node start on a busy 2-core box. */
export const START_TIMEOUT_MS = 30_000;

/** How long a process may drain after SIGTERM before it is killed (ms): the services' own limit plus margin. */
export const STOP_TIMEOUT_MS = 15_000;

/** util-linux's `setpriv`, on every Debian (util-linux is essential). */
const SETPRIV = '/usr/bin/setpriv';

/**
 * The command line that runs `command` so that it gets SIGTERM when the launcher is gone,
 * however the launcher died (SIGKILL included): `setpriv --pdeathsig SIGTERM` sets the
 * Linux parent-death signal (prctl PR_SET_PDEATHSIG), which survives its exec of the
 * program. SIGTERM, not SIGKILL: each program drains as on any stop (services within
 * their 10 s cap; nginx and Redis stop at once). Where there is no setpriv (not Linux),
 * the command runs as it is.
 */
export function withParentDeathSignal(
  command: string,
  args: readonly string[],
  searchPath: string | undefined,
): [string, string[]] {
  // A program that does not exist is left to spawn, whose ENOENT names it plainly.
  if (!existsSync(SETPRIV) || !isProgram(command, searchPath)) return [command, [...args]];
  return [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', command, ...args]];
}

/** Whether `command` (a path, or a name looked up in `searchPath` as exec does) is an executable file. */
function isProgram(command: string, searchPath: string | undefined): boolean {
  const candidates = command.includes('/')
    ? [command]
    : (searchPath ?? '').split(':').map((dir) => path.join(dir || '.', command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** What to start: a program, its arguments and its whole environment. */
export interface ProcessSpec {
  /** Unique within the cluster, e.g. `gateway-2`. */
  name: string;
  /** `redis`, `nginx`, `anthropic-standin`, `gateway`, `terminal-worker`, `ai-worker`, `message-worker`. */
  role: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Where stdout and stderr go, line by line. */
  logFile: string;
  /**
   * Written to its standard input, which is then closed: how a secret reaches a program
   * that reads its configuration there (`redis-server -`) without a command line or an
   * environment that other users can read. Without it, standard input is /dev/null.
   */
  stdin?: string;
}

/** How a process ended. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One process the launcher owns. It runs in its own process group, so a Ctrl-C in the
 * launcher's terminal reaches only the launcher, which then stops everything in order;
 * and it stops by itself when the launcher is gone ({@link withParentDeathSignal}).
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Ports it announced, by log message: `{"msg":"listening","port":…}` gives `listening → port`. */
  readonly announced = new Map<string, number>();
  exit: ProcessExit | undefined;
  private readonly recent: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly exited: Promise<ProcessExit>;
  private readonly log: WriteStream;
  private stopping: Promise<ProcessExit> | undefined;

  constructor(
    readonly spec: ProcessSpec,
    onLine?: (process: ManagedProcess, line: string) => void,
  ) {
    this.log = createWriteStream(spec.logFile, { flags: 'a', mode: 0o600 });
    const [command, args] = withParentDeathSignal(spec.command, spec.args, spec.env.PATH);
    this.child = spawn(command, args, {
      env: spec.env,
      cwd: spec.cwd,
      stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    // EPIPE when it exits without reading: its exit is what the launcher reports.
    this.child.stdin?.on('error', () => undefined);
    this.child.stdin?.end(spec.stdin);
    // 0 when the program could not be started (ENOENT then arrives as an 'error' event).
    this.pid = this.child.pid ?? 0;
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.addLine(`launcher: could not start ${spec.command}: ${error.message}`);
        this.exit ??= { code: null, signal: null };
        resolve(this.exit);
      });
      this.child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) {
          this.addLine(line);
          onLine?.(this, line);
        }
      });
    }
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Resolves when it has exited. */
  waitForExit(): Promise<ProcessExit> {
    return this.exited;
  }

  /**
   * Resolves with the first line (already printed or still to come) that `match` accepts.
   * @throws Error naming the process and its last lines when it exits first or `timeoutMs` passes.
   */
  waitForLine(match: (line: string) => boolean, what: string, timeoutMs = START_TIMEOUT_MS): Promise<string> {
    const seen = this.recent.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const fail = (reason: string): void => {
        cleanup();
        reject(new Error(`${this.spec.name} ${reason} before ${what}. Its last lines:\n  ${this.tail()}`));
      };
      const listener = (line: string): void => {
        if (!match(line)) return;
        cleanup();
        resolve(line);
      };
      let settled = false;
      const timer = setTimeout(() => fail(`took longer than ${timeoutMs} ms`), timeoutMs);
      const cleanup = (): void => {
        settled = true;
        clearTimeout(timer);
        this.lineListeners.delete(listener);
      };
      this.lineListeners.add(listener);
      void this.exited.then(() => {
        if (!settled) fail('exited');
      });
    });
  }

  /**
   * Waits until the service has logged every message of `messages` (JSON lines such as
   * `{"msg":"listening","port":8089}`) and returns their ports, in the same order.
   * @throws Error naming the process and its last lines when it exits first or `timeoutMs` passes.
   */
  async waitForPorts(messages: readonly string[], timeoutMs = START_TIMEOUT_MS): Promise<number[]> {
    const all = (): boolean => messages.every((m) => this.announced.has(m));
    if (!all()) await this.waitForLine(all, `it logged ${messages.map((m) => `"${m}"`).join(', ')}`, timeoutMs);
    return messages.map((m) => this.announced.get(m)!);
  }

  /** Sends `signal` to the process (not its group: a worker's shells are its own to stop). */
  signal(signal: NodeJS.Signals): void {
    // Never signal pid 0 or below: to kill(2) those mean a whole process group, or everything.
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(this.pid, signal);
    } catch (error) {
      // ESRCH: it exited between the check and the kill; nothing left to signal.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /**
   * SIGKILL to its whole process group (it was spawned detached, so the group is its own):
   * the last resort when the launcher itself is exiting, which must not leave children such
   * as nginx's workers holding the port.
   */
  killGroup(): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  /** SIGTERM (and SIGCONT, should it be paused), then SIGKILL after `timeoutMs`; resolves when it has exited. */
  stop(timeoutMs = STOP_TIMEOUT_MS): Promise<ProcessExit> {
    this.stopping ??= (async () => {
      if (this.running) {
        this.signal('SIGTERM');
        // A process a test paused (SIGSTOP) acts on SIGTERM only once it runs again.
        this.signal('SIGCONT');
        const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
        await this.exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => this.log.end(resolve));
      return this.exit!;
    })();
    return this.stopping;
  }

  /** The last lines it printed, for error messages. */
  tail(): string {
    return this.recent.slice(-10).join('\n  ');
  }

  private addLine(line: string): void {
    if (line.includes('listening"')) this.recordPort(line);
    this.recent.push(line);
    if (this.recent.length > RECENT_LINES) this.recent.shift();
    if (this.log.writable) this.log.write(`${line}\n`);
    for (const listener of this.lineListeners) listener(line);
  }

  private recordPort(line: string): void {
    try {
      const { msg, port } = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (typeof msg === 'string' && typeof port === 'number') this.announced.set(msg, port);
    } catch {
      // Not a JSON log line that merely mentions "listening": not an announcement.
    }
  }
}
