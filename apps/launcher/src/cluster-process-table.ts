import path from 'node:path';
import type { Logger } from '@ctos/runtime';
import type { UpstreamAddress } from './cluster-nginx';
import { ManagedProcess } from './cluster-process';
import type { ClusterOptions, ClusterProcessInfo } from './cluster-types';
import { LOOPBACK, REPO_ROOT } from './cluster-util';

/** One process of a run: the process itself and what cluster.json says of it. */
export interface ClusterEntry {
  process: ManagedProcess;
  info: ClusterProcessInfo;
}

/** Options of {@link ClusterProcesses}. */
export interface ClusterProcessesOptions {
  /** Where each process's log goes, as `<name>.log`. */
  logDir: string;
  logger: Logger;
  /** Called with every line a process prints (see `ClusterOptions.onProcessLine`). */
  onProcessLine: ClusterOptions['onProcessLine'];
  /** Called when a process exits before {@link ClusterProcesses.markStopping}: cluster.json is rewritten. */
  onUnexpectedExit(): void;
}

/** Roles of which a run has one process: named by their role alone, not `role-n`. */
const SINGLE_ROLES: ReadonlySet<ClusterProcessInfo['role']> = new Set([
  'redis',
  'redis-replica',
  'redis-sentinel',
  'nginx',
  'anthropic-standin',
]);

/**
 * Every process one cluster run starts, in the order it started them, exited ones
 * included: it names them (`gateway-2`), sends their output to the log folder, keeps
 * their ports for cluster.json, and reports an exit that nobody asked for.
 */
export class ClusterProcesses {
  private readonly entries: ClusterEntry[] = [];
  private readonly counters = new Map<string, number>();
  private stopping = false;

  constructor(private readonly options: ClusterProcessesOptions) {}

  /** True once the run has begun to stop: exits are expected from then on. */
  get isStopping(): boolean {
    return this.stopping;
  }

  /** From now on exits are expected: none is warned about or rewrites cluster.json. */
  markStopping(): void {
    this.stopping = true;
  }

  /** Every process started so far, in start order (the live records, not copies). */
  list(): readonly ClusterEntry[] {
    return this.entries;
  }

  /**
   * Starts `command` in the repository root as the next process of `role`, with exactly
   * `env` as its environment and `stdin`, if given, written to its standard input.
   */
  launch(
    role: ClusterProcessInfo['role'],
    command: string,
    args: string[],
    env: Record<string, string>,
    stdin?: string,
  ): ClusterEntry {
    const n = (this.counters.get(role) ?? 0) + 1;
    this.counters.set(role, n);
    const name = SINGLE_ROLES.has(role) ? role : `${role}-${n}`;
    const logFile = path.join(this.options.logDir, `${name}.log`);
    const info: ClusterProcessInfo = { name, role, pid: 0, port: 0, ports: {}, log: logFile, started_at: '' };
    const child = new ManagedProcess({ name, role, command, args, env, cwd: REPO_ROOT, logFile, stdin }, (_p, line) =>
      this.options.onProcessLine?.(info, line),
    );
    info.pid = child.pid;
    info.started_at = new Date().toISOString();
    const entry = { process: child, info };
    this.entries.push(entry);
    void child.waitForExit().then((exit) => {
      info.exit = exit;
      if (!this.stopping) {
        this.options.logger.warn({ process: name, pid: child.pid, ...exit }, 'a cluster process exited');
        this.options.onUnexpectedExit();
      }
    });
    return entry;
  }

  /** The running gateways that have announced their port: nginx's upstreams. */
  liveGateways(): UpstreamAddress[] {
    return this.entries
      .filter((m) => m.info.role === 'gateway' && m.process.running && m.info.port > 0)
      .map((m) => ({ host: LOOPBACK, port: m.info.port }));
  }

  /** Stops every process of `role` at once; resolves when all have exited. */
  stopRole(role: ClusterProcessInfo['role']): Promise<unknown> {
    return Promise.all(this.entries.filter((m) => m.info.role === role).map((m) => m.process.stop()));
  }

  /** SIGKILL to every process group, in start order: the last resort when the launcher dies. */
  killAll(): void {
    for (const { process: p } of this.entries) p.killGroup();
  }
}

/** Records the ports a process listens on, by purpose; the first is its main `port`. */
export function setPorts(entry: { info: ClusterProcessInfo }, ports: Record<string, number>): void {
  entry.info.ports = ports;
  entry.info.port = Object.values(ports)[0] ?? 0;
}
