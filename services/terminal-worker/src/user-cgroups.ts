import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Per-user limits a cgroup enforces; 0 means no limit. */
export interface CgroupLimits {
  /** CPUs one user may use together (fractions allowed). */
  cpus: number;
  /** Bytes of memory one user may use together. */
  memoryBytes: number;
  /** Processes and threads one user may run. */
  processes: number;
}

/** cgroup v2's `cpu.max` period (µs): the kernel's default. */
const CPU_PERIOD_US = 100_000;
/** Controllers we use, when the delegated cgroup offers them. */
const WANTED_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
/** Rounds of SIGKILL to a cgroup's members where the kernel has no cgroup.kill. */
const KILL_ROUNDS_WITHOUT_CGROUP_KILL = 20;
/** The leaf the worker moves itself into when it was started inside the root (cgroup v2 "no internal processes"). */
const SUPERVISOR_LEAF = 'supervisor';

/** What {@link UserCgroups.open} found, for the start-up log line. */
export interface CgroupReport {
  root: string;
  enforced: string[];
  /** Controllers we wanted but the root does not offer (or would not enable). */
  unavailable: string[];
}

/**
 * One cgroup v2 per user below a folder delegated to this worker (`<root>/u<uid>`): the
 * user's shells enter it before dropping root, so everything they start stays inside,
 * `setsid` or not. Ending a user is one write to `cgroup.kill` (Linux 5.14), which the
 * kernel applies to every process in it at once, fork bombs included (older kernels:
 * SIGKILL to each member, repeated). Limits are written
 * for the controllers the root offers; the rest are reported once at start-up.
 */
export class UserCgroups {
  private constructor(
    private readonly root: string,
    private readonly limits: CgroupLimits,
    private readonly enabled: ReadonlySet<string>,
  ) {}

  /**
   * Prepares `root`: creates it when its parent is a cgroup v2 folder, moves this process
   * to a leaf when it sits in `root` itself, enables the wanted controllers, and kills
   * what a previous run of this worker left in its user cgroups.
   * @throws Error naming the folder when it is not a writable cgroup v2 folder.
   */
  static open(root: string, limits: CgroupLimits): { cgroups: UserCgroups; report: CgroupReport } {
    if (!existsSync(root) && existsSync(path.join(path.dirname(root), 'cgroup.procs'))) mkdirSync(root);
    if (!existsSync(path.join(root, 'cgroup.procs')) || !existsSync(path.join(root, 'cgroup.subtree_control'))) {
      throw new Error(`TERMINAL_CGROUP_ROOT: ${root} is not a cgroup v2 folder`);
    }
    const procs = readFileSync(path.join(root, 'cgroup.procs'), 'utf8').split('\n');
    if (procs.includes(String(process.pid))) {
      const leaf = path.join(root, SUPERVISOR_LEAF);
      if (!existsSync(leaf)) mkdirSync(leaf);
      writeFileSync(path.join(leaf, 'cgroup.procs'), String(process.pid));
    }
    const offered = new Set(readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').trim().split(/\s+/));
    const wanted = WANTED_CONTROLLERS.filter((c) =>
      c === 'cpu' ? limits.cpus > 0 : c === 'memory' ? limits.memoryBytes > 0 : limits.processes > 0,
    );
    const enabled = new Set<string>();
    for (const controller of wanted) {
      if (!offered.has(controller)) continue;
      try {
        writeFileSync(path.join(root, 'cgroup.subtree_control'), `+${controller}`);
        enabled.add(controller);
      } catch {
        // Not delegated to us (EACCES) or blocked by a process in root: reported below.
      }
    }
    const cgroups = new UserCgroups(root, limits, enabled);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      if (entry.isDirectory() && /^u\d+$/.test(entry.name)) cgroups.killAll(path.join(root, entry.name));
    }
    return {
      cgroups,
      report: { root, enforced: [...enabled], unavailable: wanted.filter((c) => !enabled.has(c)) },
    };
  }

  /**
   * The `cgroup.procs` file of `uid`'s cgroup, created with its limits if needed. A shell
   * writes its own pid there (as root, before it drops privileges).
   */
  procsFileFor(uid: number): string {
    const dir = this.dirOf(uid);
    if (!existsSync(dir)) mkdirSync(dir);
    if (this.enabled.has('pids')) writeFileSync(path.join(dir, 'pids.max'), String(this.limits.processes));
    if (this.enabled.has('memory')) writeFileSync(path.join(dir, 'memory.max'), String(this.limits.memoryBytes));
    if (this.enabled.has('cpu')) {
      writeFileSync(path.join(dir, 'cpu.max'), `${Math.round(this.limits.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
    }
    return path.join(dir, 'cgroup.procs');
  }

  /** Kills every process in `uid`'s cgroup. The cgroup stays, for the user's next session. */
  kill(uid: number): void {
    this.killAll(this.dirOf(uid));
  }

  /** Removes the user cgroups that are empty (call after every user was killed). */
  dispose(): void {
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !/^u\d+$/.test(entry.name)) continue;
      try {
        rmdirSync(path.join(this.root, entry.name));
      } catch {
        // Still populated (a process is in its last moments): left for the next start, which kills and reuses it.
      }
    }
  }

  private dirOf(uid: number): string {
    return path.join(this.root, `u${uid}`);
  }

  private killAll(dir: string): void {
    if (!existsSync(dir)) return;
    const killFile = path.join(dir, 'cgroup.kill');
    if (existsSync(killFile)) {
      writeFileSync(killFile, '1');
      return;
    }
    // Before Linux 5.14 there is no cgroup.kill: signal the members until none is left
    // (they cannot leave: the cgroup's files are root's).
    for (let round = 0; round < KILL_ROUNDS_WITHOUT_CGROUP_KILL; round++) {
      const members = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
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
}
