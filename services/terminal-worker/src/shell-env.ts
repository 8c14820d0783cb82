import type { TerminalWorkerConfig } from './config';
import { WORKER_ACCOUNT, WORKER_HOME } from './config';
import type { ShellSpec } from './session';

/**
 * The shell's whole environment: a fixed, minimal set. The worker's own environment
 * (REDIS_URL, API keys, the JWT secret) never reaches a shell — the original copied it all.
 */
export function shellSpec(config: TerminalWorkerConfig): ShellSpec {
  return {
    file: config.TERMINAL_SHELL,
    args: config.TERMINAL_SHELL_ARGS,
    cwd: config.TERMINAL_CWD,
    env: {
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      LANG: config.TERMINAL_LANG,
      HOME: WORKER_HOME,
      PATH: config.TERMINAL_PATH,
      SHELL: config.TERMINAL_SHELL,
      USER: WORKER_ACCOUNT,
    },
  };
}
