/**
 * How the process cluster runs its terminal-workers' shells, by who starts it: root gets
 * per-user accounts; anyone else (a developer's laptop) gets no isolation, and is told.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { asOrdinaryUser } from '@ctos/testkit';

const IS_ROOT = process.geteuid?.() === 0;
const DIST = path.join(__dirname, '..', 'dist', 'cluster-isolation.js');

/** Plans the isolation in a child process run by `wrapper`, and returns its mode and warnings. */
function plan(wrapper: string[], env: Record<string, string> = {}): { mode: string; warnings: string[] } {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'ctos-plan-'));
  try {
    const script = `
      const { planClusterIsolation } = require(${JSON.stringify(DIST)});
      const warnings = [];
      const logger = { warn: (...args) => warnings.push(args.map(String).join(' ')), info() {} };
      const isolation = planClusterIsolation({ env: ${JSON.stringify(env)}, stateDir: ${JSON.stringify(stateDir)}, logger });
      isolation.cleanup({ url: '', prefix: '' }, false).then(() =>
        process.stdout.write(JSON.stringify({ mode: isolation.mode, warnings })));
    `;
    const [file, ...args] = [...wrapper, process.execPath, '-e', script];
    const result = spawnSync(file!, args, { encoding: 'utf8', env: { PATH: process.env.PATH } });
    if (result.status !== 0) throw new Error(`the planning process failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as { mode: string; warnings: string[] };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

describe('the process cluster’s terminal isolation', () => {
  it('runs shells without isolation for an ordinary user, and says so in a warning', () => {
    const { mode, warnings } = plan(asOrdinaryUser());
    expect(mode).toBe('none');
    expect(warnings.join('\n')).toMatch(
      /not root: every terminal shell runs as your own user \(TERMINAL_ISOLATION=none\)/,
    );
  });

  it('gives each user an account of their own when root starts it, unless TERMINAL_ISOLATION says otherwise', () => {
    if (!IS_ROOT) throw new Error('this test plans as root: run it as root (CI does)');
    expect(plan([]).mode).toBe('user');
    const turnedOff = plan([], { TERMINAL_ISOLATION: 'none' });
    expect(turnedOff).toEqual({ mode: 'none', warnings: [] });
  });
});
