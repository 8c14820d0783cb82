import { execFile } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { killEveryProcessOf, processesOfUid } from './process-tree';
import { removeSharedTraces, sharedTracesOf } from './shared-traces';
import type { SystemTools } from './system-tools';
import type { UnixAccount } from './unix-account';

const run = promisify(execFile);

/** `getent`'s exit status for "no such entry". */
const GETENT_NOT_FOUND = 2;

/** A passwd or group entry as `getent` prints it, split on `:`. */
type Entry = string[];

/** Raised when the uid, gid or name of an account is already another account's on this machine. */
export class AccountConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountConflictError';
  }
}

async function getent(tools: SystemTools, database: 'passwd' | 'group', key: string): Promise<Entry | undefined> {
  try {
    const { stdout } = await run(tools.getent, [database, key]);
    return stdout.trim().split(':');
  } catch (error) {
    if ((error as { code?: unknown }).code === GETENT_NOT_FOUND) return undefined;
    throw error;
  }
}

/**
 * Makes `account` exist on this machine: its group (gid = uid, same name), its passwd
 * entry (no password: nobody logs in with one; `shell` as login shell) and its home
 * (mode 0700, owned by the account). Idempotent, and safe when another worker on the same
 * machine creates the same account at the same moment.
 * @throws AccountConflictError when the uid, gid or name belongs to a different account
 * (the operator's `TERMINAL_UID_MIN`–`TERMINAL_UID_MAX` range overlaps accounts of the machine).
 */
export async function ensureLocalAccount(tools: SystemTools, account: UnixAccount, shell: string): Promise<void> {
  await ensureEntry(tools, 'group', account, () => run(tools.groupadd, ['--gid', String(account.gid), account.name]));
  await ensureEntry(tools, 'passwd', account, () =>
    run(tools.useradd, [
      '--uid',
      String(account.uid),
      '--gid',
      String(account.gid),
      '--home-dir',
      account.home,
      '--no-create-home',
      '--no-log-init',
      '--shell',
      shell,
      '--comment',
      'ctos-realtime user',
      account.name,
    ]),
  );
  await ensureHome(account);
}

/** Creates the entry unless it is there; a concurrent creator's entry counts as ours when it matches. */
async function ensureEntry(
  tools: SystemTools,
  database: 'passwd' | 'group',
  account: UnixAccount,
  create: () => Promise<unknown>,
): Promise<void> {
  const id = String(database === 'passwd' ? account.uid : account.gid);
  const check = async (): Promise<boolean> => {
    const byName = await getent(tools, database, account.name);
    const byId = await getent(tools, database, id);
    if (byName && byName[2] !== id) {
      throw new AccountConflictError(`${database} entry ${account.name} exists with id ${byName[2]}, not ${id}`);
    }
    // An account of the same name and uid whose home is elsewhere is another deployment's.
    if (database === 'passwd' && byName && byName[5] !== account.home) {
      throw new AccountConflictError(`account ${account.name} exists with home ${byName[5]}, not ${account.home}`);
    }
    if (byId && byId[0] !== account.name) {
      throw new AccountConflictError(
        `${database} id ${id} already belongs to ${byId[0]}: TERMINAL_UID_MIN–TERMINAL_UID_MAX must be a range no other account uses`,
      );
    }
    return byName !== undefined;
  };
  if (await check()) return;
  try {
    await create();
  } catch (error) {
    // Another worker on this machine may have created it between our check and our call.
    if (await check()) return;
    throw error;
  }
}

/**
 * True while `account` is as this worker made it: its passwd entry has its uid and home,
 * and the home still belongs to it. Cheap enough for every new shell (one `getent`), so an
 * account removed or changed behind the worker's back is noticed before a shell runs as it.
 */
export async function accountIntact(tools: SystemTools, account: UnixAccount): Promise<boolean> {
  const entry = await getent(tools, 'passwd', account.name);
  if (!entry || entry[2] !== String(account.uid) || entry[5] !== account.home) return false;
  const home = await lstat(account.home).catch(() => undefined);
  return home !== undefined && home.isDirectory() && home.uid === account.uid;
}

/** A home's mode: its user's alone. */
const HOME_MODE = 0o700;

/**
 * The home: created empty, 0700, then given to the account. One that exists already is
 * kept when its owner is the account (a shared volume, another worker), and taken over
 * only when it is root's and empty; anything else is refused, so no prepared file or
 * foreign folder becomes a user's home.
 */
async function ensureHome(account: UnixAccount): Promise<void> {
  const created = await mkdir(account.home, { mode: HOME_MODE }).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
      return false;
    },
  );
  const stat = await lstat(account.home);
  if (!stat.isDirectory()) throw new AccountConflictError(`${account.home} exists and is not a folder`);
  if (stat.uid === account.uid) return;
  if (!created && (stat.uid !== 0 || (await readdir(account.home)).length > 0)) {
    throw new AccountConflictError(
      `${account.home} exists, belongs to uid ${stat.uid} and is not an empty folder of root's`,
    );
  }
  await chmod(account.home, HOME_MODE);
  await chown(account.home, account.uid, account.gid);
}

/**
 * True when `uid` is in use on this machine: an account or group has it, something in
 * `homeRoot` belongs to it or is named for it, or it owns files in the shared temporary
 * folders or System V IPC objects. Such a uid is never given to a new user, so
 * a lost store or a second deployment cannot hand an old user's files to a new one.
 */
export async function uidTakenLocally(tools: SystemTools, uid: number, homeRoot: string): Promise<boolean> {
  if ((await getent(tools, 'passwd', String(uid))) || (await getent(tools, 'group', String(uid)))) return true;
  const traces = sharedTracesOf(uid);
  if (traces.files.length > 0 || traces.ipc.length > 0) return true;
  let entries: string[];
  try {
    entries = await readdir(homeRoot);
  } catch {
    return false; // no home root yet: nothing in it
  }
  for (const entry of entries) {
    if (entry.endsWith(`-${uid}`)) return true;
    const owner = await lstat(path.join(homeRoot, entry)).then(
      (stat) => stat.uid,
      () => undefined, // removed while we looked
    );
    if (owner === uid) return true;
  }
  return false;
}

/** `userdel`'s exit status for "no such user". */
const USERDEL_NO_USER = 6;
/** Rounds of `kill(-1)` as an account before its removal gives up on stragglers. */
const REMOVE_KILL_ROUNDS = 5;

/**
 * Accounts on this machine whose uid is in `[uidMin, uidMax]` (from `getent passwd`):
 * what a test run or a temporary cluster made, found again for {@link removeLocalAccounts}.
 */
export async function localAccountsInRange(
  tools: SystemTools,
  uidMin: number,
  uidMax: number,
): Promise<Array<{ uid: number; name: string }>> {
  const { stdout } = await run(tools.getent, ['passwd'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .map((line) => line.split(':'))
    .filter((fields) => fields.length >= 3 && Number(fields[2]) >= uidMin && Number(fields[2]) <= uidMax)
    .map((fields) => ({ uid: Number(fields[2]), name: fields[0]! }));
}

/**
 * Removes accounts this project created: kills every process still running as each
 * (`kill(-1)` as the account), removes what it left in the shared temporary folders and
 * its System V IPC objects, then `userdel` (which takes the private group along).
 * Homes are left to whoever owns their folder. Accounts already gone are skipped.
 * @throws Error listing the accounts that could not be removed.
 */
export async function removeLocalAccounts(
  tools: SystemTools,
  accounts: ReadonlyArray<{ uid: number; name: string }>,
): Promise<void> {
  const failed: string[] = [];
  for (const { uid, name } of accounts) {
    for (let round = 0; round < REMOVE_KILL_ROUNDS && processesOfUid(uid).length > 0; round++) {
      killEveryProcessOf(uid, uid);
      await waitUntilGone(uid);
    }
    removeSharedTraces(sharedTracesOf(uid), tools.ipcrm);
    try {
      // --force: a killed process may linger as a zombie until its parent reaps it.
      await run(tools.userdel, ['--force', name]);
    } catch (error) {
      if ((error as { code?: unknown }).code !== USERDEL_NO_USER) failed.push(`${name}: ${(error as Error).message}`);
    }
  }
  if (failed.length > 0) throw new Error(`could not remove accounts:\n  ${failed.join('\n  ')}`);
}

/** Polls until no process runs as `uid` (killed processes take a moment to be reaped), at most ~1 s. */
async function waitUntilGone(uid: number): Promise<void> {
  for (let poll = 0; poll < 100 && processesOfUid(uid).length > 0; poll++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
