import { readdirSync, readFileSync } from 'node:fs';

/**
 * Pids of every process in the Unix session led by `sessionLeader` (the shell: node-pty
 * makes it a session leader). Background jobs get their own process groups but stay in
 * the session, so this finds them where a process-group kill would not (PITFALLS P05).
 * A process that called `setsid` has left the session and is not found: see the README.
 */
export function sessionMembers(sessionLeader: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members; // no procfs (not Linux): only the shell itself can be signalled
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after the command name (which may contain spaces and parens): state ppid pgrp session.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[3]) === sessionLeader) members.push(Number(entry));
  }
  return members;
}

/** Sends `signal` to every member of the session led by `sessionLeader`. */
export function signalSession(sessionLeader: number, signal: NodeJS.Signals): number {
  let signalled = 0;
  for (const pid of sessionMembers(sessionLeader)) {
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
