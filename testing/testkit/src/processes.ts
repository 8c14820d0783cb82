import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inheritedEnv } from './env';
import { waitForValue } from './wait-for';

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

/** A service process a test started. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Lines it printed (stdout and stderr). */
  readonly lines: string[];
  /** The port from its `listening` log line. */
  port: number;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a compiled service (`services/<name>/dist/main.js`, `npm run build` first) with
 * `env` added to a minimal environment, and waits for its `listening` line (so LOG_LEVEL
 * must keep `info`).
 */
export async function startService(name: string, env: Record<string, string>): Promise<ServiceProcess> {
  const script = path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  const child = spawn(process.execPath, [script], {
    env: { ...inheritedEnv(), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
    });
  }
  const service: ServiceProcess = {
    child,
    pid: child.pid!,
    lines,
    port: 0,
    waitForLine: (pattern, timeoutMs = 15_000) =>
      waitForValue(() => lines.find((line) => pattern.test(line)), {
        timeoutMs,
        message: `${name} to print ${String(pattern)} (printed: ${lines.slice(-5).join(' | ')})`,
      }),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  let listening: string;
  try {
    listening = await service.waitForLine(/"msg":"listening"/);
  } catch (error) {
    child.kill('SIGKILL'); // never leave a half-started process behind
    throw error;
  }
  service.port = (JSON.parse(listening) as { port: number }).port;
  return service;
}

/** Options of {@link runServiceToExit}. */
export interface RunToExitOptions {
  /** A command the service runs under (e.g. `setpriv --reuid=65534 --`), its last word `--`. */
  wrapper?: string[];
  /** Once the output matches, the service is sent SIGTERM (it must have its handler by then). */
  stopAt?: RegExp;
}

/**
 * Runs a compiled service (`services/<name>/dist/main.js`) with `env` added to a bare
 * `PATH` until it exits; resolves with its exit code (null when a signal ended it) and
 * everything it printed.
 */
export function runServiceToExit(
  name: string,
  env: Record<string, string>,
  options: RunToExitOptions = {},
): Promise<{ code: number | null; output: string }> {
  const script = path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  const [file, ...args] = [...(options.wrapper ?? []), process.execPath, script];
  const child = spawn(file!, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
    if (options.stopAt?.test(output)) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, output })));
}
