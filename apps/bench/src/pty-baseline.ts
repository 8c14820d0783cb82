import os from 'node:os';
import * as pty from 'node-pty';
import type { EchoPath } from './echo-loop';
import type { FloodResult } from './terminal-client';
import {
  BENCH_SHELL,
  BENCH_SHELL_ARGS,
  CAT_COMMAND,
  DONE_MARK,
  floodCommand,
  KEY,
  QUIET_MS,
  READY_COMMAND,
  READY_MARK,
} from './shell-commands';

/** A mark not printed within this long (ms) means the shell is broken. */
const MARK_TIMEOUT_MS = 15_000;
/** Characters of output kept to look for a mark split across reads. */
const TAIL_CHARS = 64;

/**
 * A shell on a PTY in this process, spawned as the terminal-worker spawns one (same
 * shell, size, encoding and minimal environment): the no-network baseline.
 */
export function spawnShell(): pty.IPty {
  return pty.spawn(BENCH_SHELL, BENCH_SHELL_ARGS, {
    name: 'xterm-256color',
    cols: 80,
    rows: 24,
    cwd: os.homedir(),
    env: {
      TERM: 'xterm-256color',
      LANG: 'C.UTF-8',
      HOME: os.homedir(),
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      SHELL: BENCH_SHELL,
    },
    encoding: 'utf8',
  });
}

/**
 * Types `command` into `shell` and resolves once `mark` was printed and output has been
 * quiet for QUIET_MS. @throws Error after MARK_TIMEOUT_MS.
 */
export function typeIntoPty(shell: pty.IPty, command: string, mark: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    let seen = false;
    let quiet: NodeJS.Timeout | undefined;
    const subscription = shell.onData((data) => {
      tail = (tail + data).slice(-TAIL_CHARS);
      if (!seen && tail.includes(mark)) seen = true;
      if (!seen) return;
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        clearTimeout(deadline);
        subscription.dispose();
        resolve();
      }, QUIET_MS);
    });
    const deadline = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`the in-process shell did not print ${mark} within ${MARK_TIMEOUT_MS} ms`));
    }, MARK_TIMEOUT_MS);
    shell.write(command);
  });
}

/** The keystroke path with no network: write to the PTY, read the echo from it. */
export async function ptyEchoPath(shell: pty.IPty): Promise<EchoPath> {
  await typeIntoPty(shell, CAT_COMMAND, READY_MARK);
  return {
    send: () => shell.write(KEY),
    listen(onEcho) {
      const subscription = shell.onData(() => onEcho());
      return () => subscription.dispose();
    },
  };
}

/** Reads the flood straight from a PTY in this process: what the machine can do with no hop at all. */
export async function floodPty(shell: pty.IPty, bytes: number): Promise<FloodResult> {
  await typeIntoPty(shell, READY_COMMAND, READY_MARK);
  return new Promise((resolve) => {
    let tail = '';
    let received = 0;
    let chunks = 0;
    const started = performance.now();
    const subscription = shell.onData((data) => {
      // ASCII output: characters are bytes; the worker counts bytes with Buffer.byteLength.
      received += data.length;
      chunks++;
      tail = (tail + data.slice(-TAIL_CHARS)).slice(-TAIL_CHARS);
      if (!tail.includes(DONE_MARK)) return;
      subscription.dispose();
      resolve({ bytes: received, ms: performance.now() - started, chunks });
    });
    shell.write(floodCommand(bytes));
  });
}

/** Kills a shell started by {@link spawnShell}; one that has exited already is fine. */
export function killShell(shell: pty.IPty): void {
  try {
    shell.kill('SIGKILL');
  } catch {
    // Already gone: nothing to kill.
  }
}

/**
 * How long `pty.spawn` of the benchmark's shell takes in this process (ms), `count`
 * times: the floor under a terminal-worker's session creation.
 */
export function measureSpawns(count: number): number[] {
  const samples: number[] = [];
  const shells: pty.IPty[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      shells.push(spawnShell());
      samples.push(performance.now() - started);
    }
  } finally {
    for (const shell of shells) killShell(shell);
  }
  return samples;
}
