import { readdirSync, readFileSync } from 'node:fs';
import type { ManagedProcess } from './cluster-process';

/**
 * The process title of an nginx worker that accepts connections. After a reload the old
 * workers are retitled `nginx: worker process is shutting down`: they have closed their
 * listening sockets and only finish the connections they hold.
 */
const ACCEPTING_WORKER_TITLE = 'nginx: worker process';

/** How long nginx may take to start workers with a new configuration (ms): milliseconds idle, seconds on a busy 2-core box. */
export const NGINX_RELOAD_TIMEOUT_MS = 15_000;

/** Poll period while waiting for the new workers (ms). */
const POLL_MS = 25;

/**
 * The pids of the workers of the nginx master `masterPid` that accept connections, read
 * from /proc (each process's parent and title); undefined where there is no /proc to read.
 */
export function acceptingNginxWorkers(masterPid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const workers: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last `)`.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== masterPid) continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0];
      if (title === ACCEPTING_WORKER_TITLE) workers.push(Number(entry));
    } catch {
      // It exited between the listing and the read: not a worker any more.
    }
  }
  return workers;
}

/**
 * Sends SIGHUP to the nginx master and resolves once it runs on the new configuration:
 * every worker that accepts connections is one it started after the signal (nginx checks
 * the configuration, starts new workers and tells the old ones to finish gracefully).
 * Where /proc cannot be read, it resolves once the signal is sent.
 * @throws Error when nginx exits, or `stopping()` turns true, or no new workers accept
 * within `timeoutMs` (nginx kept its old configuration: its error log says why).
 */
export async function reloadNginxMaster(
  nginx: ManagedProcess,
  errorLog: string,
  stopping: () => boolean,
  timeoutMs = NGINX_RELOAD_TIMEOUT_MS,
): Promise<void> {
  const before = acceptingNginxWorkers(nginx.pid);
  nginx.signal('SIGHUP');
  if (before === undefined) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = acceptingNginxWorkers(nginx.pid) ?? [];
    if (now.length > 0 && now.every((pid) => !before.includes(pid))) return;
    if (!nginx.running) throw new Error('nginx exited while reloading');
    if (stopping()) throw new Error('the cluster is stopping');
    if (Date.now() > deadline) {
      throw new Error(`nginx did not reload within ${timeoutMs} ms; its error log may say why: ${errorLog}`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
