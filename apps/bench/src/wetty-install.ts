import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { OwnedProcesses } from './owned-processes';

/** The peer issue 17 measures us against, at the version it names. */
export const WETTY_VERSION = '3.2.0';

/**
 * The cache's own package.json, written before npm runs there: it approves the install
 * scripts npm 11 asks about, as the repository's package.json does (node-pty has no
 * Linux prebuild and must compile; docs/machine-notes.md).
 */
const CACHE_PACKAGE = {
  description: 'Peers of npm run bench, installed on demand (apps/bench/src/wetty-install.ts); not committed.',
  private: true,
  allowScripts: { 'node-pty': true, '@parcel/watcher': true },
};

/** npm error lines quoted in the problem: the code, the call, the request that failed. */
const ERROR_LINES = 4;

/** The version of wetty installed under `dir`, or undefined when there is none. */
function installedVersion(dir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'node_modules', 'wetty', 'package.json'), 'utf8'));
    return (manifest as { version?: string }).version;
  } catch {
    return undefined; // not installed (yet), or half installed: install again
  }
}

/**
 * wetty's entry point under `dir`, the benchmark's own cache (never the repository's
 * node_modules), installed there first with `npm install --prefix dir wetty@3.2.0` when
 * it is not. npm runs as a process the benchmark owns, so the deadline and Ctrl-C stop
 * it; its output goes to `results/logs/wetty-install.log`.
 * @throws Error when npm fails (no network, no compiler for node-pty).
 */
export async function installWetty(
  owned: OwnedProcesses,
  dir: string,
  env: Record<string, string>,
  progress: (message: string) => void,
): Promise<string> {
  const main = path.join(dir, 'node_modules', 'wetty', 'build', 'main.js');
  if (installedVersion(dir) === WETTY_VERSION) return main;
  progress(`wetty ${WETTY_VERSION}: installing into ${dir} (once; node-pty compiles)`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(CACHE_PACKAGE, null, 2)}\n`);
  const npm = owned.spawn(
    'wetty-install',
    'npm',
    ['install', '--prefix', dir, '--save-exact', '--no-audit', '--no-fund', `wetty@${WETTY_VERSION}`],
    env,
  );
  const code = await npm.exited;
  if (code !== 0 || installedVersion(dir) !== WETTY_VERSION) {
    // npm's first error lines say what failed (`code ECONNREFUSED`, the request); its last ones are advice.
    const errors = npm.lines.filter((line) => line.startsWith('npm error') && !/^npm error\s+at /.test(line));
    throw new Error(
      `npm install wetty@${WETTY_VERSION} failed (exit ${code}): ${errors.slice(0, ERROR_LINES).join(' | ')}`,
    );
  }
  return main;
}
