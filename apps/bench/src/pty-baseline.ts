import os from 'node:os';
import * as pty from 'node-pty';
import { BENCH_SHELL, BENCH_SHELL_ARGS } from './shell-commands';
import type { TerminalPath } from './terminal-link';

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

/** Terminals of node-pty in this process: each a fresh {@link spawnShell}, killed on close. */
export const ptyPath: TerminalPath = {
  key: 'pty',
  label: 'node-pty in-process',
  async open() {
    const shell = spawnShell();
    return {
      link: {
        write: (data) => shell.write(data),
        onOutput(listener) {
          const subscription = shell.onData(listener);
          return () => subscription.dispose();
        },
      },
      close: async () => killShell(shell),
    };
  },
};

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
