import { readdirSync, readFileSync } from 'node:fs';

/** Reads one `Name:   123 kB` field of a /proc file (KiB). @throws Error if the process is gone. */
function procField(file: string, field: string): number {
  const text = readFileSync(file, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`${file} has no ${field}`);
  return Number(match[1]);
}

/** Resident set size of process `pid` (KiB), from /proc/<pid>/status. @throws Error if it is gone. */
export function rssKiB(pid: number): number {
  return procField(`/proc/${pid}/status`, 'VmRSS');
}

/**
 * Proportional set size of process `pid` (KiB): its private memory plus its share of
 * pages it shares (libc, the shell's text), so a thousand shells add up to what they
 * really cost. @throws Error if it is gone.
 */
export function pssKiB(pid: number): number {
  return procField(`/proc/${pid}/smaps_rollup`, 'Pss');
}

/** The direct children of process `pid` (every thread's list), empty if it is gone. */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) found.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // The process (or a thread) ended while we read: what was read is the answer.
  }
  return found;
}
