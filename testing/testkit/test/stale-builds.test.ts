import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { refuseStaleBuilds } from '../src/refuse-stale-builds';
import { staleBuilds } from '../src/stale-builds';

/** A monorepo in a temporary folder; every file's modification time is set explicitly (s since the epoch). */
let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'ctos-stale-'));
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ workspaces: ['fresh', 'edited', 'unbuilt', 'docs'] }),
  );
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function file(relative: string, mtime: number): void {
  const full = path.join(root, relative);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, '');
  utimesSync(full, mtime, mtime);
}

describe('builds older than their sources', () => {
  beforeEach(() => {
    file('fresh/src/a.ts', 100);
    file('fresh/src/deep/b.ts', 200);
    file('fresh/dist/a.js', 150);
    file('fresh/tsconfig.tsbuildinfo', 201); // a build that emitted nothing new still writes its info
    file('edited/src/a.ts', 100);
    file('edited/src/deep/b.ts', 300);
    file('edited/dist/a.js', 250);
    file('edited/dist/deep/b.js', 250);
    file('unbuilt/src/a.ts', 100);
    file('docs/README.md', 500); // no src/: nothing to build
  });

  it('names each workspace whose newest source is newer than its newest build output, or that has none', () => {
    expect(staleBuilds(root)).toEqual(['edited (src/deep/b.ts is newer than its build)', 'unbuilt (not built)']);
  });

  it('makes jest refuse to run, naming them and the command that fixes it', () => {
    expect(() => refuseStaleBuilds(root)).toThrow(
      /edited \(src\/deep\/b\.ts is newer[\s\S]*unbuilt[\s\S]*npm run build/,
    );
  });

  it('lets jest run once everything is built', () => {
    file('edited/dist/deep/b.js', 301);
    file('unbuilt/dist/a.js', 101);
    expect(staleBuilds(root)).toEqual([]);
    expect(() => refuseStaleBuilds(root)).not.toThrow();
  });
});
