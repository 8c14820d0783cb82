import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The system programs user isolation runs, by absolute path: util-linux's `setpriv`
 * (identity) and `prlimit` (resource limits), shadow's `groupadd`, `useradd` and `userdel`
 * (accounts), glibc's `getent` (account lookup through NSS). Looked up in the system
 * folders, never in a PATH a user could influence.
 */
export interface SystemTools {
  setpriv: string;
  prlimit: string;
  groupadd: string;
  useradd: string;
  userdel: string;
  getent: string;
  ipcrm: string;
}

/** Folders searched for {@link SystemTools}, in order. */
const SYSTEM_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Debian package that ships each tool, for the error message. */
const PACKAGES: Record<keyof SystemTools, string> = {
  setpriv: 'util-linux',
  prlimit: 'util-linux',
  groupadd: 'passwd',
  useradd: 'passwd',
  userdel: 'passwd',
  getent: 'libc-bin',
  ipcrm: 'util-linux',
};

/** Finds every tool; `missing` names those not found, with the package that has each. */
export function findSystemTools(): { tools: SystemTools; missing: string[] } {
  const tools = {} as SystemTools;
  const missing: string[] = [];
  for (const name of Object.keys(PACKAGES) as Array<keyof SystemTools>) {
    const found = SYSTEM_DIRS.map((dir) => path.join(dir, name)).find((file) => existsSync(file));
    if (found) tools[name] = found;
    else missing.push(`${name} (Debian package ${PACKAGES[name]})`);
  }
  return { tools, missing };
}
