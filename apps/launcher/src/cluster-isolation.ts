import { existsSync, rmSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Logger } from '@ctos/runtime';
import { findSystemTools, removeLocalAccounts } from '@ctos/terminal-worker';
import { connectRedis, RedisStore } from '@ctos/transport';

/** Attempts to remove a cgroup whose killed processes are still being reaped, and the pause between them (ms). */
const RMDIR_ATTEMPTS = 50;
const RMDIR_PAUSE_MS = 20;
/** Rounds of SIGKILL to a cgroup's members where the kernel has no cgroup.kill. */
const KILL_ROUNDS_WITHOUT_CGROUP_KILL = 20;

/** How the launcher runs its terminal-workers' shells: see `TERMINAL_ISOLATION`. */
export interface ClusterIsolation {
  readonly mode: 'user' | 'none';
  /** Settings of the next terminal-worker started (each gets a cgroup folder of its own). */
  workerEnv(): Record<string, string>;
  /** A terminal-worker started with `env` has exited: kill what its users left in its cgroup. */
  workerExited(env: Record<string, string>): void;
  /** Kills every process of every user at once (the launcher is dying). */
  killNow(): void;
  /**
   * After the workers stopped: kills what users left, removes the cgroups, and — when
   * `removeAccounts` (the state folder is temporary) — the Unix accounts this run's Redis
   * allocated, their files in the shared temporary folders, and the homes it kept.
   */
  cleanup(redis: { urls: string[]; prefix: string }, removeAccounts: boolean): Promise<void>;
}

/** The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo (none: undefined). */
function cgroup2Mount(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [mountFields, fsFields] = line.split(' - ');
      if (fsFields?.split(' ')[0] === 'cgroup2') return mountFields!.split(' ')[4];
    }
  } catch {
    // Not Linux: no cgroups.
  }
  return undefined;
}

/** No isolation: every shell runs as the launcher's own user; nothing to kill or remove. */
const NO_ISOLATION: ClusterIsolation = {
  mode: 'none',
  workerEnv: () => ({ TERMINAL_ISOLATION: 'none' }),
  workerExited: () => undefined,
  killNow: () => undefined,
  cleanup: async () => undefined,
};

/**
 * Decides the terminal-workers' isolation: `user` when the launcher runs as root (unless
 * `TERMINAL_ISOLATION` says otherwise), `none` with a warning for an ordinary user. In
 * `user` mode homes go to `<state>/homes`, and each worker gets a cgroup folder of its own
 * below `TERMINAL_CGROUP_ROOT` (or a new folder at the cgroup v2 mount): the workers share
 * this machine's processes, so only a cgroup tells which of a user's processes are whose.
 */
export function planClusterIsolation(options: {
  env: Record<string, string | undefined>;
  stateDir: string;
  logger: Logger;
}): ClusterIsolation {
  const { env, stateDir, logger } = options;
  const root = process.geteuid?.() === 0;
  const mode =
    env.TERMINAL_ISOLATION === 'user' || env.TERMINAL_ISOLATION === 'none'
      ? env.TERMINAL_ISOLATION
      : root
        ? 'user'
        : 'none';
  if (mode === 'none') {
    if (!env.TERMINAL_ISOLATION) {
      logger.warn(
        `npm run cluster runs as uid ${process.geteuid?.()}, not root: every terminal shell runs as your own user (TERMINAL_ISOLATION=none). Run it as root to give each user a Unix account of their own.`,
      );
    }
    return NO_ISOLATION;
  }
  // The state folder is 0711: users pass through it to their own home.
  const homeRoot = env.TERMINAL_HOME_ROOT ?? path.join(stateDir, 'homes');
  const cgroupParent = root ? createCgroupParent(env, logger) : undefined;
  if (!cgroupParent) {
    logger.warn(
      'no writable cgroup v2: when a user’s last session on a terminal-worker ends, their processes on every terminal-worker of this machine are killed',
    );
  }
  return userIsolation({ env, logger, homeRoot, cgroupParent });
}

/**
 * Makes this launcher's cgroup folder (`ctos-cluster-<pid>`) below `TERMINAL_CGROUP_ROOT`
 * or the cgroup v2 mount, with the controllers its workers need.
 * @returns the folder, or undefined (with a warning when it could not be made).
 */
function createCgroupParent(env: Record<string, string | undefined>, logger: Logger): string | undefined {
  const base = env.TERMINAL_CGROUP_ROOT ?? cgroup2Mount();
  const candidate = base && path.join(base, `ctos-cluster-${process.pid}`);
  try {
    if (candidate) {
      mkdirSync(candidate, { recursive: true });
      enableControllers(candidate);
    }
    return candidate;
  } catch (error) {
    logger.warn({ err: error, cgroup: candidate }, 'cannot create cgroups for the terminal-workers');
    return undefined;
  }
}

/** `user` isolation: homes in `homeRoot`, and a cgroup folder per worker below `cgroupParent` if there is one. */
function userIsolation(plan: {
  env: Record<string, string | undefined>;
  logger: Logger;
  homeRoot: string;
  cgroupParent: string | undefined;
}): ClusterIsolation {
  const { homeRoot, cgroupParent } = plan;
  const workerCgroups: string[] = [];
  const killAll = (): void => {
    for (const dir of workerCgroups) killCgroup(dir);
  };
  return {
    mode: 'user',
    workerEnv() {
      const out: Record<string, string> = { TERMINAL_ISOLATION: 'user', TERMINAL_HOME_ROOT: homeRoot };
      if (cgroupParent) {
        const dir = path.join(cgroupParent, `worker-${workerCgroups.length + 1}`);
        workerCgroups.push(dir);
        out.TERMINAL_CGROUP_ROOT = dir;
      }
      return out;
    },
    workerExited(workerEnv) {
      // A worker that died (SIGKILL, crash) ended no user: what they left would run on.
      if (workerEnv.TERMINAL_CGROUP_ROOT) killCgroup(workerEnv.TERMINAL_CGROUP_ROOT);
    },
    killNow: killAll,
    async cleanup(redis, removeAccounts) {
      killAll();
      if (cgroupParent) await removeCgroupTree(cgroupParent);
      if (!removeAccounts || redis.urls.length === 0) return; // no Redis yet: no account was made
      await removeRunAccounts(redis, plan);
    },
  };
}

/**
 * The accounts this run's Redis lists (`unix:accounts`), from every one of `urls` (the
 * run's data nodes: a replica holds them too, an old primary started again may hold an
 * older list) that answers within 2 s, together; undefined when none does (every Redis of
 * the run dead or paused). Removal checks each account again, so a stale entry is harmless.
 */
async function listRunAccounts(redis: { urls: string[]; prefix: string }): Promise<string[] | undefined> {
  let found: Set<string> | undefined;
  for (const url of redis.urls) {
    const client = connectRedis(
      url,
      'cluster-launcher',
      {},
      {
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2000,
        commandTimeout: 2000,
      },
    );
    client.on('error', () => undefined);
    try {
      const members = await new RedisStore(client, redis.prefix).smembers('unix:accounts');
      found ??= new Set();
      for (const member of members) found.add(member);
    } catch {
      // The next one.
    } finally {
      client.disconnect();
    }
  }
  return found && [...found];
}

/**
 * Removes the Unix accounts this run's Redis allocated (`unix:accounts`) that are still
 * ours, then — unless the operator chose the home root — the homes they kept.
 */
async function removeRunAccounts(
  redis: { urls: string[]; prefix: string },
  plan: { env: Record<string, string | undefined>; logger: Logger; homeRoot: string },
): Promise<void> {
  const { env, logger, homeRoot } = plan;
  const members = await listRunAccounts(redis);
  if (members === undefined) {
    logger.warn('could not list the accounts this cluster created; they are left in place');
    return;
  }
  const { tools } = findSystemTools();
  // Only what is still ours: the account of that name and uid, with its home in our home
  // root. Anything else (another deployment's account, a machine's own) is left alone.
  const accounts = members
    .map((member) => {
      const [uid, name] = member.split(':');
      return { uid: Number(uid), name: name! };
    })
    .filter(({ uid, name }) => {
      const entry = spawnSync(tools.getent, ['passwd', name], { encoding: 'utf8' });
      const fields = entry.stdout.trim().split(':');
      return entry.status === 0 && fields[2] === String(uid) && fields[5] === path.join(homeRoot, name);
    });
  if (accounts.length === 0) return;
  await removeLocalAccounts(tools, accounts).catch((error: unknown) =>
    logger.warn({ err: error }, 'some Unix accounts of this cluster could not be removed'),
  );
  // Files of a removed account would pass to the next holder of its uid.
  if (!env.TERMINAL_HOME_ROOT) rmSync(homeRoot, { recursive: true, force: true });
}

/** Kills every process in a cgroup folder and those below it; a folder that is gone is no error. */
function killCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  if (existsSync(path.join(dir, 'cgroup.kill'))) {
    writeFileSync(path.join(dir, 'cgroup.kill'), '1');
    return;
  }
  // Before Linux 5.14: every member of the folder and those below, until none is left.
  for (let round = 0; round < KILL_ROUNDS_WITHOUT_CGROUP_KILL; round++) {
    const members = cgroupMembers(dir);
    if (members.length === 0) return;
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
}

/**
 * Lets the folder's children use the cpu, memory and pids controllers its parent gives
 * it, so that each worker below can bound its users (what a folder is not given is
 * reported by the worker at start-up).
 */
function enableControllers(dir: string): void {
  const offered = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  for (const controller of ['cpu', 'memory', 'pids']) {
    if (!offered.includes(controller)) continue;
    try {
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${controller}`);
    } catch {
      // Not ours to enable: the worker reports the controller as unavailable.
    }
  }
}

/** Pids in a cgroup folder and every folder below it. */
function cgroupMembers(dir: string): number[] {
  const pids: number[] = [];
  try {
    pids.push(...readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) pids.push(...cgroupMembers(path.join(dir, entry.name)));
    }
  } catch {
    // removed while we looked
  }
  return pids;
}

/** Removes a cgroup folder and everything below it, deepest first, once their processes are gone. */
async function removeCgroupTree(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await removeCgroupTree(path.join(dir, entry.name));
  }
  for (let attempt = 1; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      // EBUSY while killed processes are being reaped.
      if (attempt >= RMDIR_ATTEMPTS || (error as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await new Promise((resolve) => setTimeout(resolve, RMDIR_PAUSE_MS));
    }
  }
}
