import { userInfo } from 'node:os';
import { z } from 'zod';
import { commonSettings, ConfigError, parseConfig, setting } from '@ctos/runtime';

const account = userInfo();

/** Environment variables of the terminal-worker, with their defaults. */
export const terminalWorkerSettings = {
  ...commonSettings,
  /** Port of /healthz, /readyz and /metrics (0: any free port). */
  OPS_PORT: setting.port(9101),
  /** The shell to start; default the worker user's login shell. */
  TERMINAL_SHELL: z
    .string()
    .min(1)
    .default(account.shell || '/bin/bash'),
  /** Arguments of the shell, separated by spaces. */
  TERMINAL_SHELL_ARGS: z
    .string()
    .default('-l')
    .transform((v) => v.split(' ').filter(Boolean)),
  /** Working directory of new shells; default the worker user's home. */
  TERMINAL_CWD: z.string().min(1).default(account.homedir),
  /** `PATH` given to shells. */
  TERMINAL_PATH: z.string().min(1).default('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'),
  /** `LANG` given to shells. */
  TERMINAL_LANG: z.string().min(1).default('C.UTF-8'),
  /** A detached session closes after this long (ms); the seed's 5 minutes. */
  TERMINAL_IDLE_TIMEOUT_MS: setting.int(5 * 60 * 1000, 100),
  /** Sessions one user may have open across the cluster. */
  TERMINAL_MAX_SESSIONS_PER_USER: setting.int(10, 1, 10_000),
  /** Sessions this worker takes before placement skips it. */
  TERMINAL_WORKER_CAPACITY: setting.int(1000, 1, 100_000),
  /** Replay buffer per session (bytes). */
  TERMINAL_REPLAY_BYTES: setting.int(1024 * 1024, 1024, 256 * 1024 * 1024),
  /** Flow control: pause above this many unacknowledged bytes (VS Code's 100,000). */
  TERMINAL_FLOW_HIGH_BYTES: setting.int(100_000, 1024),
  /** Flow control: resume at or below this many (VS Code's 5,000). */
  TERMINAL_FLOW_LOW_BYTES: setting.int(5_000, 0),
  /** An acking client that holds the PTY paused this long without acking stops holding it (ms). */
  TERMINAL_FLOW_STALL_MS: setting.int(15_000, 100),
  /** Output coalescing window under a flood (ms). */
  TERMINAL_COALESCE_MS: setting.int(5, 1, 1000),
  /** Scrollback lines kept for screen snapshots. */
  TERMINAL_SCROLLBACK_LINES: setting.int(1000, 0, 100_000),
};

/** The terminal-worker's parsed configuration. */
export type TerminalWorkerConfig = z.output<z.ZodObject<typeof terminalWorkerSettings>>;

/**
 * Parses the terminal-worker's settings from `env` (default: this process's).
 * @throws ConfigError listing every bad value.
 */
export function loadTerminalWorkerConfig(env: Record<string, string | undefined> = process.env): TerminalWorkerConfig {
  const config = parseConfig(z.object(terminalWorkerSettings), env);
  if (config.TERMINAL_FLOW_LOW_BYTES >= config.TERMINAL_FLOW_HIGH_BYTES) {
    throw new ConfigError(['TERMINAL_FLOW_LOW_BYTES must be below TERMINAL_FLOW_HIGH_BYTES']);
  }
  return config;
}

/** The worker user's name, for shells' `USER`. */
export const WORKER_ACCOUNT = account.username;

/** The worker user's home, for shells' `HOME`. */
export const WORKER_HOME = account.homedir;
