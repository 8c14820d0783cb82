import type { TerminalWorkerConfig } from './config';
import { WORKER_ACCOUNT, WORKER_HOME } from './config';
import type { ShellSpec } from './session';

/**
 * A shell's whole environment: a fixed, minimal set for `user` with `home`. The worker's
 * own environment (REDIS_URL, API keys, the JWT secret) never reaches a shell — the
 * original copied it all.
 */
export function shellEnv(
  config: TerminalWorkerConfig,
  account: { home: string; user: string },
): Record<string, string> {
  return {
    TERM: 'xterm-256color',
    COLORTERM: 'truecolor',
    LANG: config.TERMINAL_LANG,
    HOME: account.home,
    PATH: config.TERMINAL_PATH,
    SHELL: config.TERMINAL_SHELL,
    USER: account.user,
    LOGNAME: account.user,
  };
}

/** The shell as the worker's own user (`TERMINAL_ISOLATION=none`). */
export function shellSpec(config: TerminalWorkerConfig): ShellSpec {
  return {
    file: config.TERMINAL_SHELL,
    args: config.TERMINAL_SHELL_ARGS,
    cwd: config.TERMINAL_CWD,
    env: shellEnv(config, { home: WORKER_HOME, user: WORKER_ACCOUNT }),
  };
}
