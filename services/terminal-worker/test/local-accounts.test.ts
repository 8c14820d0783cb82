/**
 * Accounts on this machine: creation, what is never taken over, and removal. These tests
 * create Unix accounts and need root.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isolatedAccounts, waitFor, type IsolatedAccounts } from '@ctos/testkit';
import {
  AccountConflictError,
  ensureLocalAccount,
  localAccountsInRange,
  removeLocalAccounts,
  uidTakenLocally,
} from '../src/local-accounts';
import { signalSession } from '../src/process-tree';
import { findSystemTools } from '../src/system-tools';
import { loginName, type UnixAccount } from '../src/unix-account';

const IS_ROOT = process.geteuid?.() === 0;
const { tools } = findSystemTools();

describe('accounts on this machine', () => {
  if (!IS_ROOT) {
    it('needs root: these tests create Unix accounts (run npm test as root, as CI does)', () => {
      throw new Error(`not run as root (uid ${process.geteuid?.()}): the account tests cannot run`);
    });
    return;
  }

  let range: IsolatedAccounts;
  let next = 0;
  const accountFor = (sub: string): UnixAccount => {
    const uid = range.uidMin + next++;
    const name = loginName(sub, uid);
    return { sub, uid, gid: uid, name, home: path.join(range.homeRoot, name) };
  };

  beforeAll(() => {
    range = isolatedAccounts();
  });
  afterAll(async () => {
    await removeLocalAccounts(tools, await localAccountsInRange(tools, range.uidMin, range.uidMax));
    rmSync(range.homeRoot, { recursive: true, force: true });
  });

  it('creates the account with a 0700 home of its own, and finds its uid taken afterwards', async () => {
    const account = accountFor('alice');
    expect(await uidTakenLocally(tools, account.uid, range.homeRoot)).toBe(false);
    await ensureLocalAccount(tools, account, '/bin/bash');
    await ensureLocalAccount(tools, account, '/bin/bash'); // idempotent
    const home = statSync(account.home);
    expect([home.uid, home.gid, home.mode & 0o777]).toEqual([account.uid, account.gid, 0o700]);
    expect(await uidTakenLocally(tools, account.uid, range.homeRoot)).toBe(true);
  });

  it('counts a uid as taken when only a home in the home root names or belongs to it', async () => {
    const named = accountFor('ghost');
    mkdirSync(path.join(range.homeRoot, `someone-${named.uid}`));
    expect(await uidTakenLocally(tools, named.uid, range.homeRoot)).toBe(true);
    const owned = accountFor('ghost2');
    mkdirSync(path.join(range.homeRoot, 'orphan'));
    spawnSync('chown', [String(owned.uid), path.join(range.homeRoot, 'orphan')]);
    expect(await uidTakenLocally(tools, owned.uid, range.homeRoot)).toBe(true);
  });

  it('counts a uid as taken while it owns a file in a shared temporary folder', async () => {
    const { uid } = accountFor('lingering');
    const file = `/run/lock/ctos-test-${uid}`;
    writeFileSync(file, 'left behind');
    try {
      spawnSync('chown', [String(uid), file]);
      expect(await uidTakenLocally(tools, uid, range.homeRoot)).toBe(true);
    } finally {
      rmSync(file, { force: true });
    }
    expect(await uidTakenLocally(tools, uid, range.homeRoot)).toBe(false);
  });

  it('refuses a home that exists with someone’s files in it, and an account of the same name with another home', async () => {
    const planted = accountFor('bob');
    mkdirSync(planted.home, { mode: 0o755 });
    writeFileSync(path.join(planted.home, '.bashrc'), 'echo planted\n', { mode: 0o666 });
    await expect(ensureLocalAccount(tools, planted, '/bin/bash')).rejects.toBeInstanceOf(AccountConflictError);

    const elsewhere = accountFor('carol');
    await ensureLocalAccount(tools, elsewhere, '/bin/bash');
    const sameNameOtherHome = { ...elsewhere, home: path.join(range.homeRoot, 'other', elsewhere.name) };
    await expect(ensureLocalAccount(tools, sameNameOtherHome, '/bin/bash')).rejects.toThrow(/exists with home/);
  });

  it('takes over an empty folder of root’s as the home, made 0700', async () => {
    const account = accountFor('dave');
    mkdirSync(account.home, { mode: 0o755 });
    await ensureLocalAccount(tools, account, '/bin/bash');
    const home = statSync(account.home);
    expect([home.uid, home.mode & 0o777]).toEqual([account.uid, 0o700]);
  });

  it('removes an account with its processes and what it left in the shared temporary folders', async () => {
    const account = accountFor('erin');
    await ensureLocalAccount(tools, account, '/bin/bash');
    const left = `/tmp/ctos-left-${account.uid}`;
    const sleeper = spawn('/bin/sh', ['-c', `echo secret > ${left}; exec sleep 1000`], {
      uid: account.uid,
      gid: account.gid,
      detached: true,
      stdio: 'ignore',
    });
    await waitFor(() => existsSync(left));
    expect(statSync(left).uid).toBe(account.uid);
    await removeLocalAccounts(tools, [account]);
    expect(existsSync(left)).toBe(false);
    expect(spawnSync('getent', ['passwd', account.name]).status).toBe(2);
    await waitFor(() => sleeper.exitCode !== null || sleeper.signalCode !== null);
  });
});

describe('signalling a closed session', () => {
  it('reaches only the processes of the session’s own uid (a reused pid may lead someone else’s session)', async () => {
    // `detached`: the child calls setsid, so it leads a session numbered by its own pid.
    const leader = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => leader.once('exit', resolve));
    const myUid = process.getuid!();
    expect(readFileSync(`/proc/${leader.pid}/stat`, 'utf8')).toContain('sleep');
    expect(signalSession(leader.pid!, 'SIGKILL', myUid + 1)).toBe(0);
    expect(leader.exitCode).toBeNull();
    expect(signalSession(leader.pid!, 'SIGKILL', myUid)).toBe(1);
    await exited;
  });
});
