import { createHash } from 'node:crypto';
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TerminalRecordingInfo } from '@ctos/protocol';

/**
 * Where terminal recordings live (issue 19), shared by the terminal-workers that write
 * them and the gateways that serve them: under the root (`TERMINAL_RECORDING_DIR`), one
 * folder per user named by a hash of the user id (no user id can name a path), holding
 * `<recording id>.cast` files in asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/).
 * Ownership is the folder: a recording is looked up only in its caller's own.
 */

/** A recording id: a UUID, as `randomUUID` makes them. */
export const RECORDING_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The MIME type of asciicast files (asciinema's own). */
export const ASCIICAST_CONTENT_TYPE = 'application/x-asciicast';

/** The header line of an asciicast v2 file, as far as we write and read it. */
export interface AsciicastHeader {
  version: 2;
  /** Terminal size at the start, in cells. */
  width: number;
  height: number;
  /** When the recording started, Unix time (seconds). */
  timestamp: number;
  title?: string;
  env?: Record<string, string>;
}

/** The folder of `user`'s recordings under `root`. */
export function recordingFolder(root: string, user: string): string {
  return path.join(root, createHash('sha256').update(user, 'utf8').digest('hex').slice(0, 32));
}

/** The file of `user`'s recording `id`; undefined for an id that is not one. */
export function recordingFile(root: string, user: string, id: string): string | undefined {
  return RECORDING_ID_PATTERN.test(id) ? path.join(recordingFolder(root, user), `${id}.cast`) : undefined;
}

/** The first line of the file at `file` (at most 64 KiB), or undefined when it has none. */
async function firstLine(file: string): Promise<string | undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
    return end === -1 ? undefined : buffer.subarray(0, end).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** `user`'s recordings under `root`, newest first; files that are not recordings are skipped. */
export async function listRecordings(root: string, user: string): Promise<TerminalRecordingInfo[]> {
  const folder = recordingFolder(root, user);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: TerminalRecordingInfo[] = [];
  for (const name of names) {
    const id = name.slice(0, -'.cast'.length);
    if (!name.endsWith('.cast') || !RECORDING_ID_PATTERN.test(id)) continue;
    const file = path.join(folder, name);
    try {
      const header = JSON.parse((await firstLine(file)) ?? 'null') as AsciicastHeader | null;
      if (header?.version !== 2) continue;
      found.push({
        recording_id: id,
        started_at: new Date(header.timestamp * 1000).toISOString(),
        bytes: (await stat(file)).size,
        cols: header.width,
        rows: header.height,
        ...(header.title === undefined ? {} : { title: header.title }),
      });
    } catch {
      continue; // removed meanwhile (retention), or not ours
    }
  }
  return found.sort((a, b) => b.started_at.localeCompare(a.started_at));
}

/**
 * Removes every recording under `root` last written more than `retentionMs` (ms) before
 * `now`; returns how many were removed (user folders stay, empty or not). Several workers
 * may prune the same root at once: a file another removed first is skipped.
 */
export async function pruneRecordings(root: string, retentionMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  let folders: string[];
  try {
    folders = await readdir(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  for (const folder of folders) {
    const dir = path.join(root, folder);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue; // not a folder, or gone
    }
    for (const name of names) {
      if (!name.endsWith('.cast')) continue;
      const file = path.join(dir, name);
      try {
        if (now - (await stat(file)).mtimeMs > retentionMs) {
          await rm(file);
          removed++;
        }
      } catch {
        continue; // removed by another worker meanwhile
      }
    }
  }
  return removed;
}
