import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';

/** How long a process may take to exit after SIGTERM before it gets SIGKILL (ms): a drain plus margin. */
const STOP_GRACE_MS = 15_000;

/** One process the benchmark started. */
export interface OwnedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Lines printed so far (stdout and stderr), most recent last; capped. */
  readonly lines: string[];
  /** Resolves with its exit code once it has exited (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Resolves with the first printed line `match` accepts. @throws Error if it exits first or after `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after a grace; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Lines kept per process, for error messages. */
const KEPT_LINES = 200;

/**
 * Every process the benchmark starts itself, by PID: stopped at the end of the run, on
 * Ctrl-C, and — as a last resort — killed when the benchmark process exits.
 */
export class OwnedProcesses {
  private readonly owned = new Map<number, OwnedProcess>();

  constructor(private readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
    process.on('exit', () => {
      for (const { pid } of this.owned.values()) killQuietly(pid, 'SIGKILL');
    });
  }

  /** Starts `node script` with an IPC channel; its output goes to `results/logs/<name>.log`. */
  fork(name: string, script: string, env: Record<string, string>, execArgv: string[] = []): OwnedProcess {
    const child = fork(script, [], { env, execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    return this.adopt(name, child);
  }

  /** Starts a program without IPC; its output goes to `results/logs/<name>.log`. */
  spawn(name: string, command: string, args: string[], env: Record<string, string>): OwnedProcess {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return this.adopt(name, child);
  }

  /** Stops every process still running, in parallel. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.owned.values()].map((p) => p.stop()));
  }

  private adopt(name: string, child: ChildProcess): OwnedProcess {
    const pid = child.pid;
    if (pid === undefined) throw new Error(`could not start ${name}`);
    const log = createWriteStream(path.join(this.logDir, `${name}.log`), { flags: 'w' });
    const lines: string[] = [];
    const listeners = new Set<(line: string) => void>();
    let exited = child.exitCode !== null || child.signalCode !== null;
    const exit = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        exited = true;
        this.owned.delete(pid);
        resolve(code);
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      let buffered = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        log.write(chunk);
        buffered += chunk;
        const parts = buffered.split('\n');
        buffered = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (lines.length > KEPT_LINES) lines.shift();
          for (const listener of listeners) listener(line);
        }
      });
    }
    let stopping: Promise<void> | undefined;
    const owned: OwnedProcess = {
      name,
      pid,
      child,
      lines,
      exited: exit,
      waitForLine(match, timeoutMs) {
        const seen = lines.find(match);
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const done = (): void => {
            clearTimeout(timer);
            listeners.delete(listener);
          };
          const listener = (line: string): void => {
            if (!match(line)) return;
            done();
            resolve(line);
          };
          const timer = setTimeout(() => {
            done();
            reject(
              new Error(`${name} printed no expected line within ${timeoutMs} ms: ${lines.slice(-5).join(' | ')}`),
            );
          }, timeoutMs);
          listeners.add(listener);
          void exit.then(() => {
            if (!listeners.has(listener)) return;
            done();
            reject(new Error(`${name} exited: ${lines.slice(-5).join(' | ')}`));
          });
        });
      },
      stop() {
        stopping ??= (async () => {
          if (!exited) {
            killQuietly(pid, 'SIGTERM');
            const timer = setTimeout(() => killQuietly(pid, 'SIGKILL'), STOP_GRACE_MS);
            await exit;
            clearTimeout(timer);
          }
          await new Promise<void>((resolve) => log.end(resolve));
        })();
        return stopping;
      },
    };
    this.owned.set(pid, owned);
    return owned;
  }
}

/** Signals one process by PID; a process that is already gone is not an error. */
export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  // Never 0 or below: to kill(2) those mean a process group, or every process.
  if (pid <= 0) return;
  try {
    process.kill(pid, signal);
  } catch (error) {
    // ESRCH: it exited already, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
