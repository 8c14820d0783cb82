import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asOrdinaryUser, deletePrefix, runServiceToExit, SHARED_REDIS_URL, uniquePrefix } from '@ctos/testkit';
import { connectAs, openSession, startTestSystem, type } from './harness';

const IS_ROOT = process.geteuid?.() === 0;

/** Runs the terminal-worker's main under `wrapper` (a privilege-dropping command). */
function runWorker(wrapper: string[], env: Record<string, string>, stopAt?: RegExp) {
  return runServiceToExit(
    'terminal-worker',
    { REDIS_URL: SHARED_REDIS_URL, OPS_PORT: '0', ...env },
    { wrapper, ...(stopAt ? { stopAt } : {}) },
  );
}

describe('TERMINAL_ISOLATION=user without the privilege to change uid', () => {
  // Root drops to nobody for the test; anyone else already lacks the privilege.
  const asUnprivileged = asOrdinaryUser();
  // The workers that start leave registry keys behind: under this prefix, removed after.
  const prefix = uniquePrefix('iso');
  afterAll(() => deletePrefix(SHARED_REDIS_URL, prefix));

  it('is the default with REDIS_URL, and the worker exits non-zero naming what is missing and how to turn isolation off', async () => {
    const { code, output } = await runWorker(asUnprivileged, { REDIS_PREFIX: prefix });
    expect(code).toBe(2);
    expect(output).toMatch(/TERMINAL_ISOLATION=user .* needs the terminal-worker to run as root/);
    expect(output).toMatch(/CAP_SETUID/);
    expect(output).toMatch(/set TERMINAL_ISOLATION=none/);
  });

  it('names each missing capability when root lacks some', async () => {
    if (!IS_ROOT) throw new Error('this test drops capabilities from root: run it as root (CI does)');
    const { code, output } = await runWorker(['setpriv', '--bounding-set=-chown,-kill', '--'], {
      REDIS_PREFIX: prefix,
    });
    expect(code).toBe(2);
    expect(output).toMatch(/needs the capabilities CAP_CHOWN, CAP_KILL, which this process lacks/);
  });

  it('refuses a home root others may write to, where a user could plant another’s home', async () => {
    if (!IS_ROOT) throw new Error('this test starts the worker as root: run it as root (CI does)');
    const { code, output } = await runWorker([], { REDIS_PREFIX: prefix, TERMINAL_HOME_ROOT: '/tmp' });
    expect(code).toBe(2);
    expect(output).toMatch(/TERMINAL_HOME_ROOT: \/tmp must belong to root and be writable by root alone .*mode 1777\)/);
  });

  it('refuses a home root below a folder someone else owns, who could swap it for one of theirs', async () => {
    if (!IS_ROOT) throw new Error('this test starts the worker as root: run it as root (CI does)');
    const parent = mkdtempSync(path.join(tmpdir(), 'ctos-foreign-'));
    try {
      chmodSync(parent, 0o755);
      chownSync(parent, 65534, 65534);
      const { code, output } = await runWorker([], {
        REDIS_PREFIX: prefix,
        TERMINAL_HOME_ROOT: path.join(parent, 'homes'),
      });
      expect(code).toBe(2);
      expect(output).toContain(
        `TERMINAL_HOME_ROOT: ${parent} must belong to root and be writable by root alone (it belongs to uid 65534`,
      );
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('runs with TERMINAL_ISOLATION=none as the unprivileged user', async () => {
    const started = /"isolation":"none".*"msg":"terminal worker started"/;
    const { code, output } = await runWorker(
      asUnprivileged,
      { REDIS_PREFIX: prefix, TERMINAL_ISOLATION: 'none' },
      /"msg":"listening"/, // its SIGTERM handler is in place from this line on
    );
    expect(output).toMatch(started);
    expect(code).toBe(0); // drained on SIGTERM
  });
});

describe('embedded mode (npm start)', () => {
  it('gives the local user a shell as the process’s own user, with no isolation to set up', async () => {
    const system = await startTestSystem();
    try {
      const socket = await connectAs(system.url, 'local');
      const out = await openSession(socket);
      type(socket, out, 'echo "uid=$(id -u)"');
      await out.waitForText(new RegExp(`[\\r\\n]uid=${process.geteuid?.()}\\r\\n`));
      socket.close();
    } finally {
      await system.stop();
    }
  });
});
