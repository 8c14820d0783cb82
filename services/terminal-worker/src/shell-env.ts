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

/**
 * The shell's command line: the configured shell and its arguments, or, for `command`,
 * the shell running that one command (`-c`) and ending with it.
 */
export function shellArgv(config: TerminalWorkerConfig, command?: string): string[] {
  return command === undefined
    ? [config.TERMINAL_SHELL, ...config.TERMINAL_SHELL_ARGS]
    : [config.TERMINAL_SHELL, '-c', command];
}

/** The shell as the worker's own user (`TERMINAL_ISOLATION=none`); `command` as in {@link shellArgv}. */
export function shellSpec(config: TerminalWorkerConfig, command?: string): ShellSpec {
  const [file, ...args] = shellArgv(config, command);
  return {
    file: file!,
    args,
    cwd: config.TERMINAL_CWD,
    env: shellEnv(config, { home: WORKER_HOME, user: WORKER_ACCOUNT }),
  };
}
