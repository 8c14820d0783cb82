import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PRIVATE_DIR_MODE, STATE_DIR_MODE } from './cluster-secrets';

/** The folder where a run keeps Redis's AOF, nginx's prefix, logs, secrets and cluster.json. */
export interface StateDir {
  /** Absolute path. */
  dir: string;
  /** `<dir>/cluster.json`. */
  file: string;
  /** True when the launcher made it (no `CLUSTER_STATE_DIR`): a new temporary folder, never used again. */
  created: boolean;
}

/**
 * Makes the state folder: `configured`, or a new temporary one when undefined. It is 0711
 * (users pass through it to their homes), with `logs/` and `redis/` the launcher's alone.
 * @throws the file system's error when a folder cannot be made or its mode set.
 */
export function createStateDir(configured: string | undefined): StateDir {
  const created = !configured;
  const dir = path.resolve(configured ?? mkdtempSync(path.join(tmpdir(), 'ctos-cluster-')));
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, STATE_DIR_MODE);
  mkdirSync(path.join(dir, 'logs'), { recursive: true, mode: PRIVATE_DIR_MODE });
  mkdirSync(path.join(dir, 'redis'), { recursive: true, mode: PRIVATE_DIR_MODE });
  return { dir, file: path.join(dir, 'cluster.json'), created };
}

/**
 * Removes the folder if the launcher made it and `keep` is false.
 * @returns true when it was removed, false when it stays (the caller may update cluster.json).
 */
export function removeStateDir(state: StateDir, keep: boolean | undefined): boolean {
  if (!state.created || keep) return false;
  rmSync(state.dir, { recursive: true, force: true });
  return true;
}
