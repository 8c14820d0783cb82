import { mkdirSync, rmSync } from 'node:fs';
import { ServiceError } from '@ctos/protocol';
import type { Logger } from '@ctos/runtime';
import type { KeyValueStore } from '@ctos/transport';
import type { TerminalWorkerConfig } from './config';
import {
  accountIntact,
  AccountConflictError,
  ensureLocalAccount,
  removeLocalAccounts,
  uidTakenLocally,
} from './local-accounts';
import { killEveryProcessOf, processesOfUid } from './process-tree';
import type { ShellSpec } from './session';
import { shellArgv, shellEnv, shellSpec } from './shell-env';
import { findSystemTools, type SystemTools } from './system-tools';
import { AccountAllocator, type CandidateHandler, type UnixAccount } from './unix-account';
import { UserCgroups } from './user-cgroups';

/** How a worker starts shells and ends what a user left behind. */
export interface ShellIsolation {
  /**
   * The shell to start for `user` (the token's `sub`); may create their account first.
   * `command`: the shell runs it (`-c`) and ends, as the assistant's `run_command` asks.
   * @throws ServiceError `UNAVAILABLE` (uid range used up, account conflict, store down).
   */
  shellFor(user: string, command?: string): Promise<ShellSpec>;
  /** `user` has no session left on this worker: end every process still running as them here. */
  userGone(user: string): void;
  /** Removes what the isolation made for itself (empty cgroups). */
  dispose(): void;
}

/** `TERMINAL_ISOLATION=none`: every shell runs as the worker's own user. */
export function noIsolation(config: TerminalWorkerConfig): ShellIsolation {
  return {
    shellFor: (_user, command) => Promise.resolve(shellSpec(config, command)),
    userGone: () => undefined,
    dispose: () => undefined,
  };
}

/** Home root's mode: users may pass through to their own home, but not list the others. */
const HOME_ROOT_MODE = 0o711;
/** How often a user's processes are killed with `kill(-1)` before we report survivors. */
const KILL_ROUNDS = 3;

/**
 * Run as root, before privileges drop: put this process into the user's cgroup (so all it
 * starts stays there), then go on. `$1`: the cgroup's `cgroup.procs`; the rest: the command.
 */
const ENTER_CGROUP = 'echo $$ > "$1" || exit 126; shift; exec "$@"';
/**
 * Run as the user: private file modes by default (other users share /tmp), start in the
 * home (root could not enter it without CAP_DAC_OVERRIDE), then the shell.
 */
const AS_USER = 'umask 077 && cd || exit 126; exec "$@"';

/**
 * The per-user cgroups under `TERMINAL_CGROUP_ROOT`, or none when it is not given; logs
 * which limits are enforced, so an operator sees what a missing delegation costs.
 */
function openUserCgroups(config: TerminalWorkerConfig, logger: Logger): UserCgroups | undefined {
  if (!config.TERMINAL_CGROUP_ROOT) {
    logger.warn(
      'no TERMINAL_CGROUP_ROOT: per-user CPU and memory are not limited (processes, open files and file size are, by resource limits); deploy/OPERATIONS.md tells how to delegate a cgroup',
    );
    return undefined;
  }
  const opened = UserCgroups.open(config.TERMINAL_CGROUP_ROOT, {
    cpus: config.TERMINAL_CPU_PER_USER,
    memoryBytes: config.TERMINAL_MEMORY_PER_USER_BYTES,
    processes: config.TERMINAL_MAX_PROCESSES_PER_USER,
  });
  if (opened.report.unavailable.length > 0) {
    logger.warn(
      opened.report,
      'per-user cgroups: these controllers are not delegated to this worker, so their per-user limits are not enforced',
    );
  } else {
    logger.info(opened.report, 'per-user cgroups: every limit enforced');
  }
  return opened.cgroups;
}

/** A new uid is used only when nothing on this machine has it; another worker's win undoes ours. */
function localCandidates(tools: SystemTools, config: TerminalWorkerConfig): CandidateHandler {
  return {
    async prepare(candidate) {
      if (await uidTakenLocally(tools, candidate.uid, config.TERMINAL_HOME_ROOT)) return false;
      try {
        await ensureLocalAccount(tools, candidate, config.TERMINAL_SHELL);
        return true;
      } catch (error) {
        // Taken between our check and our useradd (a second deployment on this machine).
        if (error instanceof AccountConflictError) return false;
        throw error;
      }
    },
    async abandon(candidate) {
      await removeLocalAccounts(tools, [candidate]);
      rmSync(candidate.home, { recursive: true, force: true });
    },
  };
}

/** A resource limit for prlimit: 0 means none. */
const limit = (value: number): string => (value === 0 ? 'unlimited' : String(value));

/**
 * The command line a PTY runs for `account`:
 * `[sh ENTER_CGROUP procsFile] → prlimit → setpriv (uid, gid, groups) → sh AS_USER → the shell`.
 */
function isolatedCommand(
  tools: SystemTools,
  config: TerminalWorkerConfig,
  account: UnixAccount,
  procsFile: string | undefined,
  oneCommand: string | undefined,
): string[] {
  const command = [
    tools.prlimit,
    `--nproc=${config.TERMINAL_MAX_PROCESSES_PER_USER}`,
    `--nofile=${config.TERMINAL_MAX_OPEN_FILES}`,
    `--fsize=${limit(config.TERMINAL_MAX_FILE_BYTES)}`,
    '--',
    tools.setpriv,
    `--reuid=${account.uid}`,
    `--regid=${account.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--no-new-privs',
    '--',
    '/bin/sh',
    '-c',
    AS_USER,
    'ctos-shell',
    ...shellArgv(config, oneCommand),
  ];
  return procsFile ? ['/bin/sh', '-c', ENTER_CGROUP, 'ctos-shell', procsFile, ...command] : command;
}

/**
 * Allocates each user's account once per worker (concurrent shells of a user share one
 * allocation); a failure is forgotten, so the user's next create tries again.
 */
function accountsOnce(
  allocator: AccountAllocator,
  candidates: CandidateHandler,
  logger: Logger,
): (user: string) => Promise<UnixAccount> {
  const ready = new Map<string, Promise<UnixAccount>>();
  return (user) => {
    let account = ready.get(user);
    if (!account) {
      account = (async () => {
        const allocated = await allocator.accountOf(user, candidates);
        logger.info({ user_id: user, uid: allocated.uid, account: allocated.name }, 'unix account ready');
        return allocated;
      })();
      ready.set(user, account);
      account.catch(() => ready.delete(user));
    }
    return account;
  };
}

/**
 * `TERMINAL_ISOLATION=user`: each user's shells run under their own Unix account,
 * allocated in the shared store so every worker agrees (see {@link AccountAllocator}),
 * created on this machine on first use, with supplementary groups cleared, no way to gain
 * privileges (`no_new_privs`: setuid programs do not elevate), and per-user limits:
 * `RLIMIT_NPROC` of the uid, `RLIMIT_NOFILE` and `RLIMIT_FSIZE` per process, and a cgroup
 * per user where `TERMINAL_CGROUP_ROOT` is given.
 *
 * One pid runs the whole chain ({@link isolatedCommand}) and stays the session leader.
 */
export function userIsolation(
  config: TerminalWorkerConfig,
  store: KeyValueStore,
  logger: Logger,
  tools: SystemTools = findSystemTools().tools,
): ShellIsolation {
  mkdirSync(config.TERMINAL_HOME_ROOT, { recursive: true, mode: HOME_ROOT_MODE });
  const allocator = new AccountAllocator({
    store,
    uidMin: config.TERMINAL_UID_MIN,
    uidMax: config.TERMINAL_UID_MAX,
    homeRoot: config.TERMINAL_HOME_ROOT,
  });
  const cgroups = openUserCgroups(config, logger);

  const prepare = accountsOnce(allocator, localCandidates(tools, config), logger);

  /** Synchronously known accounts, for {@link ShellIsolation.userGone}. */
  const known = new Map<string, UnixAccount>();

  return {
    async shellFor(user, command) {
      let account: UnixAccount;
      let procsFile: string | undefined;
      try {
        account = await prepare(user);
        // Checked at every shell: allocated on another worker or before a restart, or removed
        // or changed since, it is made here (or refused, when its uid is someone else's).
        if (!(await accountIntact(tools, account))) await ensureLocalAccount(tools, account, config.TERMINAL_SHELL);
        procsFile = cgroups?.procsFileFor(account.uid);
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        logger.error(
          { err: error, user_id: user },
          error instanceof AccountConflictError
            ? 'cannot create the unix account of a user'
            : 'could not prepare the unix account of a user',
        );
        throw new ServiceError('UNAVAILABLE', 'Your Unix account could not be prepared; the operator has been told.');
      }
      known.set(user, account);
      const [file, ...args] = isolatedCommand(tools, config, account, procsFile, command);
      return {
        file: file!,
        args,
        // The PTY's child starts as root, which may not enter a 0700 home: AS_USER does.
        cwd: '/',
        env: shellEnv(config, { home: account.home, user: account.name }),
        ttyOwner: { uid: account.uid, gid: account.gid },
      };
    },
    userGone(user) {
      const account = known.get(user);
      if (!account || !config.TERMINAL_KILL_ON_LAST_CLOSE) return;
      if (cgroups) {
        cgroups.kill(account.uid);
      } else {
        for (let round = 0; round < KILL_ROUNDS && processesOfUid(account.uid).length > 0; round++) {
          killEveryProcessOf(account.uid, account.gid);
        }
      }
      logger.info({ user_id: user, uid: account.uid }, 'last session ended: the user’s processes were killed');
    },
    dispose() {
      cgroups?.dispose();
    },
  };
}
