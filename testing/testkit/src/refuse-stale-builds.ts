import type { Config } from '@jest/types';
import { staleBuilds } from './stale-builds';

/**
 * Refuses to run the suite when a workspace's build under `root` is older than its
 * sources (see {@link staleBuilds}), naming each one and the command that fixes it.
 * `npm test` builds first; this catches `npx jest` after an edit.
 * @throws Error listing the stale workspaces
 */
export function refuseStaleBuilds(root: string): void {
  const stale = staleBuilds(root);
  if (stale.length === 0) return;
  throw new Error(
    `These builds are older than their sources, and tests that start real processes would run the old code:\n  ${stale.join('\n  ')}\nRun: npm run build`,
  );
}

/** jest's `globalSetup` (jest.config.js): {@link refuseStaleBuilds} at the repository's root. */
export default function globalSetup(globalConfig: Config.GlobalConfig): void {
  refuseStaleBuilds(globalConfig.rootDir);
}
