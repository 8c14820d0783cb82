import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** What a workspace's build leaves beside its sources: tsc's output and build info, or vite's. */
const BUILD_OUTPUTS = ['dist', 'tsconfig.tsbuildinfo'];

/**
 * The workspaces (of the root package.json at `root`) whose build is older than their
 * sources: some file under `src/` changed after the newest file of `dist/` (and
 * `tsconfig.tsbuildinfo`) was written, or there is no build at all. Tests that start real
 * processes run `dist/`; a test run after an edit without a build would test the code as
 * it was. Workspaces without `src/` are skipped.
 * @returns one line per stale workspace, e.g. `services/gateway (src/config.ts is newer than its build)`
 */
export function staleBuilds(root: string): string[] {
  const { workspaces } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const stale: string[] = [];
  for (const workspace of workspaces) {
    const dir = path.join(root, workspace);
    const sources = newest(path.join(dir, 'src'));
    if (!sources) continue;
    const built = BUILD_OUTPUTS.map((output) => newest(path.join(dir, output))).reduce(later, undefined);
    if (!built) stale.push(`${workspace} (not built)`);
    else if (sources.mtimeMs > built.mtimeMs) {
      stale.push(`${workspace} (${path.relative(dir, sources.file)} is newer than its build)`);
    }
  }
  return stale;
}

interface Newest {
  file: string;
  mtimeMs: number;
}

/** The most recently modified file at or under `target`; undefined when there is none. */
function newest(target: string): Newest | undefined {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return { file: target, mtimeMs: stat.mtimeMs };
  return readdirSync(target)
    .map((entry) => newest(path.join(target, entry)))
    .reduce(later, undefined);
}

function later(a: Newest | undefined, b: Newest | undefined): Newest | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.mtimeMs > a.mtimeMs ? b : a;
}
