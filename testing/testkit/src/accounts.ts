import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Uids for test accounts start here: far above any machine's own accounts. */
const TEST_UID_BASE = 1_000_000;
/** Uids one test cluster may allocate. */
const TEST_UID_BLOCK = 64;
/** Blocks one test process may use at once (clusters started side by side). */
const BLOCKS_PER_PROCESS = 16;
/** Blocks in all: keeps every uid below 2^31. */
const TEST_BLOCKS = 30_000_000;
/** Users pass through the home folder to their own home, and cannot list the others. */
const HOME_ROOT_MODE = 0o711;

let blocksTaken = 0;

/** A uid range of a test's own, as settings and as numbers. */
export interface IsolatedUids {
  env: { TERMINAL_UID_MIN: string; TERMINAL_UID_MAX: string };
  uidMin: number;
  uidMax: number;
}

/**
 * A uid block no other live test process uses (derived from this process's pid): tests
 * that run side by side never allocate one uid for two users. Enough for a cluster
 * started by the launcher, which keeps homes in its state folder and removes the accounts
 * its Redis allocated when it stops.
 */
export function isolatedUids(): IsolatedUids {
  const block = (process.pid * BLOCKS_PER_PROCESS + (blocksTaken++ % BLOCKS_PER_PROCESS)) % TEST_BLOCKS;
  const uidMin = TEST_UID_BASE + block * TEST_UID_BLOCK;
  const uidMax = uidMin + TEST_UID_BLOCK - 1;
  return { env: { TERMINAL_UID_MIN: String(uidMin), TERMINAL_UID_MAX: String(uidMax) }, uidMin, uidMax };
}

/** {@link isolatedUids} and a new home folder, for terminal-workers a test starts itself. */
export interface IsolatedAccounts {
  env: IsolatedUids['env'] & { TERMINAL_HOME_ROOT: string };
  uidMin: number;
  uidMax: number;
  homeRoot: string;
}

/**
 * A uid range and a new home folder (0711) of this test's own. The caller removes the
 * accounts (`removeLocalAccounts`) and the folder when done.
 */
export function isolatedAccounts(): IsolatedAccounts {
  const uids = isolatedUids();
  const homeRoot = mkdtempSync(path.join(tmpdir(), 'ctos-homes-'));
  chmodSync(homeRoot, HOME_ROOT_MODE);
  return { ...uids, env: { ...uids.env, TERMINAL_HOME_ROOT: homeRoot }, homeRoot };
}

/** The uid and gid of `nobody`, the account tests drop to. */
const NOBODY = 65534;

/**
 * A command prefix that runs what follows as an ordinary user: root drops to `nobody`
 * with `setpriv`, keeping only CAP_DAC_READ_SEARCH (read-only), so a checkout in a private
 * folder still loads; anyone else already is one (empty prefix).
 */
export function asOrdinaryUser(): string[] {
  if (process.geteuid?.() !== 0) return [];
  return [
    'setpriv',
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
    '--inh-caps=+dac_read_search',
    '--ambient-caps=+dac_read_search',
    '--',
  ];
}
