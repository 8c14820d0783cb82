import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Each live process's `/proc/<pid>/<file>`, read as text; processes that exit meanwhile are skipped. */
function readProcFiles(file: 'stat' | 'status'): Array<{ pid: number; text: string }> {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return []; // no procfs (not Linux)
  }
  const found: Array<{ pid: number; text: string }> = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      found.push({ pid: Number(entry), text: readFileSync(`/proc/${entry}/${file}`, 'utf8') });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/**
 * Pids of every process of `uid` in the Unix session led by `sessionLeader` (the shell: node-pty
 * makes it a session leader). Background jobs get their own process groups but stay in
 * the session, so this finds them where a process-group kill would not (P05, docs/pitfalls.md).
 * A process that called `setsid` has left the session and is not found: with
 * `TERMINAL_ISOLATION=user` the user's last close reaches it (see shell-isolation.ts).
 */
export function sessionMembers(sessionLeader: number, uid: number): number[] {
  return readProcFiles('stat')
    .filter(({ text }) => {
      // Fields after the command name (which may contain spaces and parens): state ppid pgrp session.
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return Number(fields[3]) === sessionLeader;
    })
    .map(({ pid }) => pid)
    .filter((pid) => realUid(pid) === uid);
}

/** The real uid of `pid` (undefined once it is gone). */
function realUid(pid: number): number | undefined {
  try {
    return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** Pids of every live process (zombies excluded: they are dead) whose real uid is `uid`. */
export function processesOfUid(uid: number): number[] {
  return readProcFiles('status')
    .filter(({ text }) => Number(/^Uid:\s+(\d+)/m.exec(text)?.[1]) === uid && !/^State:\s+Z/m.test(text))
    .map(({ pid }) => pid);
}

/**
 * Sends `signal` to every member of the session led by `sessionLeader` that runs as
 * `uid`. The uid matters once the leader is gone: its pid may have been reused by a
 * process of someone else that called `setsid`, whose session has the same number.
 */
export function signalSession(sessionLeader: number, signal: NodeJS.Signals, uid: number): number {
  let signalled = 0;
  for (const pid of sessionMembers(sessionLeader, uid)) {
    try {
      process.kill(pid, signal);
      signalled++;
    } catch {
      // It exited between the scan and the signal: nothing left to stop.
    }
  }
  return signalled;
}

/** True while a process with this pid exists (zombies included until reaped). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Kills every process of `uid` with one `kill(-1)` run as that uid: the kernel signals
 * them all in one pass, so none forks away between a scan and a signal, and run as the
 * uid it can reach nothing else (in a container, only that container's processes).
 */
export function killEveryProcessOf(uid: number, gid: number): void {
  spawnSync('/bin/sh', ['-c', 'kill -9 -1'], { uid, gid, stdio: 'ignore', env: {} });
}
