import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { TerminalWorkerConfig } from './config';
import { findSystemTools } from './system-tools';

/**
 * Capabilities `TERMINAL_ISOLATION=user` needs, each for one reason (capabilities(7) numbers).
 * Nothing else: no CAP_SYS_ADMIN, no CAP_DAC_OVERRIDE, no CAP_SYS_PTRACE.
 */
export const ISOLATION_CAPABILITIES = {
  /** Give each home and each shell's tty to its user. */
  CAP_CHOWN: 0,
  /** Signal users' processes (hang-up on close, kill what is left). */
  CAP_KILL: 5,
  /** Take the user's gid and clear supplementary groups. */
  CAP_SETGID: 6,
  /** Take the user's uid. */
  CAP_SETUID: 7,
} as const;

/** CAP_SYS_RESOURCE: raise a hard resource limit. */
const CAP_SYS_RESOURCE = 24;

/** The process's effective capability set, from /proc/self/status (`CapEff`). */
function effectiveCapabilities(): bigint {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('CapEff:'));
  return line ? BigInt(`0x${line.slice('CapEff:'.length).trim()}`) : 0n;
}

/** The hard limit on open files of this process, from /proc/self/limits (Infinity for unlimited). */
function hardOpenFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === undefined || hard === 'unlimited' ? Infinity : Number(hard);
}

/**
 * What stops this process from running shells as their users, as lines for the operator
 * (empty when nothing does, or when `TERMINAL_ISOLATION` is `none`). Each names what is
 * missing and the setting that turns isolation off. Never falls back by itself.
 */
export function isolationProblems(config: TerminalWorkerConfig): string[] {
  if (config.TERMINAL_ISOLATION !== 'user') return [];
  const problems: string[] = [];
  const turnOff =
    'or set TERMINAL_ISOLATION=none to run every shell as the worker’s own user (for one trusted user only)';
  const euid = process.geteuid?.();
  if (euid !== 0) {
    problems.push(
      `TERMINAL_ISOLATION=user runs each user's shells under their own Unix account, which needs the terminal-worker to run as root (uid 0, in its container) with ${Object.keys(ISOLATION_CAPABILITIES).join(', ')}; it runs as uid ${euid}. Start it as root, ${turnOff}.`,
    );
  } else {
    const effective = effectiveCapabilities();
    const missing = Object.entries(ISOLATION_CAPABILITIES)
      .filter(([, bit]) => (effective & (1n << BigInt(bit))) === 0n)
      .map(([name]) => name);
    if (missing.length > 0) {
      problems.push(
        `TERMINAL_ISOLATION=user needs the capabilities ${missing.join(', ')}, which this process lacks (add them to the container, as docker-compose.yml does), ${turnOff}.`,
      );
    }
    const sysResource = (effective & (1n << BigInt(CAP_SYS_RESOURCE))) !== 0n;
    if (!sysResource && config.TERMINAL_MAX_OPEN_FILES > hardOpenFilesLimit()) {
      problems.push(
        `TERMINAL_MAX_OPEN_FILES: ${config.TERMINAL_MAX_OPEN_FILES} is above this process's own hard limit (${hardOpenFilesLimit()}); lower it or raise the worker's limit (ulimit -Hn, or the container's nofile ulimit).`,
      );
    }
  }
  problems.push(...homeRootProblems(config.TERMINAL_HOME_ROOT));
  const { missing } = findSystemTools();
  if (missing.length > 0) {
    problems.push(
      `TERMINAL_ISOLATION=user needs these programs, not found: ${missing.join(', ')}; install them, ${turnOff}.`,
    );
  }
  return problems;
}

/** Mode bits that let someone other than the owner add or rename entries. */
const GROUP_OR_WORLD_WRITABLE = 0o022;
/** The sticky bit: in a folder others may write to, only an entry's owner may rename or remove it. */
const STICKY = 0o1000;

/**
 * The home root must be root's and writable by root alone, and so must every folder above
 * it (or be sticky, as /tmp is): otherwise someone could move it aside and plant a folder
 * that becomes another user's home (as sshd's StrictModes checks a home's path).
 */
function homeRootProblems(homeRoot: string): string[] {
  const problems: string[] = [];
  for (let dir = path.resolve(homeRoot), first = true; ; dir = path.dirname(dir), first = false) {
    let stat;
    try {
      stat = statSync(dir);
    } catch {
      stat = undefined; // not made yet: created at start-up, root's and 0711
    }
    if (stat) {
      const writable = (stat.mode & GROUP_OR_WORLD_WRITABLE) !== 0;
      if (!stat.isDirectory()) problems.push(`TERMINAL_HOME_ROOT: ${dir} is not a folder`);
      else if (stat.uid !== 0 || (writable && (first || (stat.mode & STICKY) === 0))) {
        problems.push(
          `TERMINAL_HOME_ROOT: ${dir} must belong to root and be writable by root alone (it belongs to uid ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8)})`,
        );
      }
    }
    if (dir === path.dirname(dir)) return problems;
  }
}
