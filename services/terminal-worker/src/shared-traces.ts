import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/**
 * Folders every user may write to: what an account leaves there would pass to the next
 * holder of its uid.
 */
const SHARED_WRITABLE = ['/tmp', '/var/tmp', '/dev/shm', '/run/lock'];
/** The mode bit that lets anyone create files in a folder. */
const WORLD_WRITABLE = 0o002;
/** System V IPC objects, which outlive their creator: the /proc table and ipcrm's flag for each kind. */
const SYSV_IPC = [
  { table: '/proc/sysvipc/shm', idColumn: 'shmid', flag: '-m' },
  { table: '/proc/sysvipc/msg', idColumn: 'msqid', flag: '-q' },
  { table: '/proc/sysvipc/sem', idColumn: 'semid', flag: '-s' },
] as const;

/** What a uid owns outside its home that would outlive its account. */
export interface SharedTraces {
  /** Files and folders in {@link SHARED_WRITABLE}, and in world-writable folders below them. */
  files: string[];
  /** System V IPC objects, with the `ipcrm` flag that removes each. */
  ipc: Array<{ flag: '-m' | '-q' | '-s'; id: string }>;
}

/**
 * Everything `uid` owns in the shared places: never following links or leaving each
 * folder's filesystem, and looking only into folders anyone may write to (the only
 * other places a user could have written).
 */
export function sharedTracesOf(uid: number): SharedTraces {
  const files: string[] = [];
  const visit = (dir: string, device: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return; // unreadable or gone
    }
    for (const entry of entries) {
      const file = path.join(dir, entry);
      let stat;
      try {
        stat = lstatSync(file);
      } catch {
        continue; // removed while we looked
      }
      if (stat.dev !== device) continue;
      if (stat.uid === uid) files.push(file);
      else if (stat.isDirectory() && (stat.mode & WORLD_WRITABLE) !== 0) visit(file, device);
    }
  };
  for (const dir of SHARED_WRITABLE) {
    try {
      visit(dir, lstatSync(dir).dev);
    } catch {
      // no such folder here
    }
  }
  const ipc: SharedTraces['ipc'] = [];
  for (const { table, idColumn, flag } of SYSV_IPC) {
    let lines: string[];
    try {
      lines = readFileSync(table, 'utf8').trim().split('\n');
    } catch {
      continue; // no System V IPC here
    }
    const header = lines[0]!.trim().split(/\s+/);
    const idAt = header.indexOf(idColumn);
    const uidAt = header.indexOf('uid');
    for (const line of lines.slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (Number(fields[uidAt]) === uid) ipc.push({ flag, id: fields[idAt]! });
    }
  }
  return { files, ipc };
}

/** Removes what {@link sharedTracesOf} found (with util-linux's `ipcrm` at `ipcrm`). */
export function removeSharedTraces(traces: SharedTraces, ipcrm: string): void {
  for (const file of traces.files) rmSync(file, { recursive: true, force: true });
  for (const { flag, id } of traces.ipc) spawnSync(ipcrm, [flag, id], { stdio: 'ignore', env: {} });
}
