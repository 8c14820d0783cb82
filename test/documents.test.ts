/**
 * Documents in the repository: nothing here may cite a document the repository does not
 * have, and every pitfall label the code or the docs cite (P02, P13, …) has its line in
 * docs/pitfalls.md.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const PITFALLS = path.join(ROOT, 'docs', 'pitfalls.md');
/** Folders that hold no file of ours. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git']);

/**
 * Documents that live outside the repository, and how a citation of each reads. This
 * file names them to forbid them, so it is not scanned itself.
 */
const OUTSIDE_DOCUMENTS: Array<[string, RegExp]> = [
  ['the machine notes outside the repository (use docs/machine-notes.md)', /MACHINE-NOTES/],
  ['a design document outside the repository (use ARCHITECTURE.md or the README)', /DESIGN\.md/],
  ['the pitfall catalogue outside the repository (use docs/pitfalls.md)', /PITFALLS/],
  ['a folder beside the repository', /\.\.\/shared\/|\/work\/shared/],
  ['a document outside the repository', /original-behaviour\.md|seed-realtime\.md/],
];
/** P01–P29: the catalogue's range, so a figure such as P95 is not taken for a label. */
const PITFALL_LABEL = /\bP[0-2]\d\b/g;

/** Every text file of the repository, as a path relative to the root. */
function repositoryFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...repositoryFiles(file));
    } else if (entry.isFile()) {
      out.push(path.relative(ROOT, file));
    }
  }
  return out;
}

/** `[file, line number, line]` for every line of every text file but this one. */
function repositoryLines(): Array<[string, number, string]> {
  const self = path.relative(ROOT, __filename);
  const lines: Array<[string, number, string]> = [];
  for (const file of repositoryFiles()) {
    if (file === self) continue;
    const bytes = readFileSync(path.join(ROOT, file));
    if (bytes.includes(0)) continue; // a binary file (a screenshot) cites nothing
    bytes
      .toString('utf8')
      .split('\n')
      .forEach((line, i) => lines.push([file, i + 1, line]));
  }
  return lines;
}

/** The labels docs/pitfalls.md lists: the first cell of each table row. */
function listedLabels(): Set<string> {
  const text = readFileSync(PITFALLS, 'utf8');
  return new Set([...text.matchAll(/^\|\s*(P\d{2})\s*\|/gm)].map((match) => match[1]!));
}

describe('documents in the repository', () => {
  const lines = repositoryLines();

  it('cite no document the repository does not have', () => {
    const violations: string[] = [];
    for (const [file, number, line] of lines) {
      for (const [what, pattern] of OUTSIDE_DOCUMENTS) {
        if (pattern.test(line)) violations.push(`${file}:${number} cites ${what}: ${line.trim()}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('cite only pitfall labels that docs/pitfalls.md lists', () => {
    const listed = listedLabels();
    expect(listed.size).toBeGreaterThan(0);
    const violations: string[] = [];
    for (const [file, number, line] of lines) {
      for (const [label] of line.matchAll(PITFALL_LABEL)) {
        if (!listed.has(label))
          violations.push(`${file}:${number} cites ${label}, which docs/pitfalls.md does not list`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('name, in docs/pitfalls.md, only test files that exist', () => {
    const named = [...readFileSync(PITFALLS, 'utf8').matchAll(/`([\w./-]+\.test\.ts)`/g)].map((match) => match[1]!);
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((file) => !existsSync(path.join(ROOT, file)))).toEqual([]);
  });
});
