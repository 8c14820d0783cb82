import { userInfo } from 'node:os';
import { z } from 'zod';
import { commonSettings, ConfigError, isDistributed, parseConfig, setting } from '@ctos/runtime';

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
  /**
   * Flow control: pause above this many unacknowledged bytes. Larger than VS Code's
   * 100,000 (a local pipe): output crosses a gateway and Redis here (decision 0015).
   */
  TERMINAL_FLOW_HIGH_BYTES: setting.int(512 * 1024, 1024),
  /** Flow control: resume at or below this many; half the high watermark keeps output flowing while acks travel. */
  TERMINAL_FLOW_LOW_BYTES: setting.int(256 * 1024, 0),
  /** An acking client that holds the PTY paused this long without acking stops holding it (ms). */
  TERMINAL_FLOW_STALL_MS: setting.int(15_000, 100),
  /** Under a flood, output goes out in chunks of about this many bytes (UTF-8); echoes go at once whatever it is. */
  TERMINAL_OUTPUT_CHUNK_BYTES: setting.int(64 * 1024, 4096, 1024 * 1024),
  /**
   * Session recordings in asciicast v2 (issue 19): `off`; `on`, every session; `opt-in`,
   * the sessions created with `record: true`.
   */
  TERMINAL_RECORDING: z.enum(['off', 'on', 'opt-in']).default('off'),
  /** Record what was typed too (it may hold passwords typed without echo). */
  TERMINAL_RECORD_INPUT: setting.bool(false),
  /** Where recordings are written, one folder per user (mode 0700); every worker and gateway mounts the same. */
  TERMINAL_RECORDING_DIR: z
    .string()
    .startsWith('/', 'must be an absolute path')
    .default('/var/lib/ctos-realtime/recordings'),
  /** The most one session's recording may take (bytes); then a marker, and recording stops. */
  TERMINAL_RECORDING_MAX_BYTES: setting.int(100 * 1024 * 1024, 4096),
  /** Recordings last written longer ago than this are removed (ms); 30 days. */
  TERMINAL_RECORDING_RETENTION_MS: setting.int(30 * 24 * 3600 * 1000, 1000),
  /** Scrollback lines kept for screen snapshots. */
  TERMINAL_SCROLLBACK_LINES: setting.int(1000, 0, 100_000),
  /**
   * `user`: each user's shells run under that user's own Unix account (the default when
   * `REDIS_URL` or `REDIS_SENTINELS` is set); `none`: every shell runs as the worker's own user (the default of
   * embedded mode, which has one local user). See deploy/OPERATIONS.md, "Threat model".
   */
  TERMINAL_ISOLATION: z.enum(['user', 'none']).optional(),
  /** First uid (and gid) given to users' accounts; the range must hold no other account. */
  TERMINAL_UID_MIN: setting.int(70_000, 1000, 2 ** 31 - 2),
  /** Last uid (and gid) given to users' accounts. */
  TERMINAL_UID_MAX: setting.int(89_999, 1000, 2 ** 31 - 2),
  /** Folder that holds each user's home (`<root>/<login name>`, mode 0700); every worker replica mounts the same. */
  TERMINAL_HOME_ROOT: z.string().startsWith('/', 'must be an absolute path').default('/var/lib/ctos-realtime/home'),
  /** Processes and threads one user may run at once (`RLIMIT_NPROC` of the user's uid). */
  TERMINAL_MAX_PROCESSES_PER_USER: setting.int(256, 8, 1_000_000),
  /** Open files per process of a user (`RLIMIT_NOFILE`); at most the worker's own hard limit. */
  TERMINAL_MAX_OPEN_FILES: setting.int(4096, 64, 1 << 30),
  /** Largest file a user's process may write (bytes, `RLIMIT_FSIZE`); 0: no limit. */
  TERMINAL_MAX_FILE_BYTES: setting.int(8 * 1024 ** 3, 0),
  /** When a user's last session on this worker ends, kill every process still running as that user here. */
  TERMINAL_KILL_ON_LAST_CLOSE: setting.bool(true),
  /**
   * A cgroup v2 folder delegated to this worker (writable by it, one worker per folder):
   * each user's processes go into a cgroup of their own below it, with the CPU, memory and
   * process limits below where its controllers allow. Empty: no per-user cgroups.
   */
  TERMINAL_CGROUP_ROOT: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** CPUs one user's processes may use together (cgroup `cpu.max`); 0: no limit. */
  TERMINAL_CPU_PER_USER: z.coerce.number().min(0).max(1024).default(1),
  /** Memory one user's processes may use together (bytes, cgroup `memory.max`); 0: no limit. */
  TERMINAL_MEMORY_PER_USER_BYTES: setting.int(1024 ** 3, 0),
};

/** How shells are separated: see `TERMINAL_ISOLATION`. */
export type TerminalIsolation = 'user' | 'none';

/** The terminal-worker's parsed configuration (`TERMINAL_ISOLATION` resolved to its default). */
export type TerminalWorkerConfig = Omit<z.output<z.ZodObject<typeof terminalWorkerSettings>>, 'TERMINAL_ISOLATION'> & {
  TERMINAL_ISOLATION: TerminalIsolation;
};

/**
 * Parses the terminal-worker's settings from `env` (default: this process's).
 * @throws ConfigError listing every bad value.
 */
export function loadTerminalWorkerConfig(env: Record<string, string | undefined> = process.env): TerminalWorkerConfig {
  const parsed = parseConfig(z.object(terminalWorkerSettings), env);
  const problems: string[] = [];
  if (parsed.TERMINAL_FLOW_LOW_BYTES >= parsed.TERMINAL_FLOW_HIGH_BYTES) {
    problems.push('TERMINAL_FLOW_LOW_BYTES must be below TERMINAL_FLOW_HIGH_BYTES');
  }
  if (parsed.TERMINAL_UID_MIN > parsed.TERMINAL_UID_MAX) {
    problems.push('TERMINAL_UID_MIN must not be above TERMINAL_UID_MAX');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Distributed deployments serve many people: isolation is on unless turned off.
  return { ...parsed, TERMINAL_ISOLATION: parsed.TERMINAL_ISOLATION ?? (isDistributed(parsed) ? 'user' : 'none') };
}

/** The worker user's name, for shells' `USER`. */
export const WORKER_ACCOUNT = account.username;

/** The worker user's home, for shells' `HOME`. */
export const WORKER_HOME = account.homedir;
