/**
 * Rooms of one job (ARCHITECTURE.md): no source file over {@link MAX_FILE_LINES} lines and
 * no function over {@link MAX_FUNCTION_LINES}, unless a comment says why it must be. A
 * function is measured from its first line to its closing brace, nested functions
 * included, so a factory that holds a whole service in closures counts whole.
 *
 * The comment that exempts: `// size: <why>` in the file's first lines (the file), or in
 * the lines just above the function (the function).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { sourceFiles } from './source-files';

const ROOT = path.resolve(__dirname, '..');
/** Longer than this, a file almost always holds two jobs. */
const MAX_FILE_LINES = 350;
/** Longer than this, a function no longer fits on one screen. */
const MAX_FUNCTION_LINES = 80;
/** How many lines above a function (or at a file's top) its `// size:` comment may stand. */
const EXEMPTION_REACH = 12;
const EXEMPTION = /\/\/ size: \S/;

/** Every `src/` folder of ours. */
const SOURCE_ROOTS = ['packages', 'services', 'apps', 'testing']
  .flatMap((floor) => readdirSync(path.join(ROOT, floor)).map((name) => path.join(floor, name, 'src')))
  .concat('web/src');

/** Whether a `// size:` comment stands within {@link EXEMPTION_REACH} lines before `line` (0-based). */
function exempt(lines: string[], line: number): boolean {
  return lines.slice(Math.max(0, line - EXEMPTION_REACH), line + 1).some((text) => EXEMPTION.test(text));
}

/** Functions over the limit in one file, as `path:line name (N lines)`. */
function longFunctions(relative: string, text: string): string[] {
  const source = ts.createSourceFile(relative, text, ts.ScriptTarget.Latest, true);
  const lines = text.split('\n');
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.end).line;
      const length = last - first + 1;
      if (length > MAX_FUNCTION_LINES && !exempt(lines, first)) {
        const name = node.name?.getText(source) ?? '(anonymous)';
        found.push(`${relative}:${first + 1} ${name} (${length} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = SOURCE_ROOTS.filter((dir) => statSync(path.join(ROOT, dir), { throwIfNoEntry: false })).flatMap((dir) =>
  sourceFiles(path.join(ROOT, dir)).map((file) => path.relative(ROOT, file)),
);

describe('rooms of one job', () => {
  it('reads every source folder', () => {
    expect(files).toContain('services/terminal-worker/src/session.ts');
    expect(files).toContain('web/src/main.ts');
  });

  it(`has no source file over ${MAX_FILE_LINES} lines without a reason`, () => {
    const long = files.flatMap((file) => {
      const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
      const count = lines.length - (lines.at(-1) === '' ? 1 : 0);
      return count > MAX_FILE_LINES && !exempt(lines, EXEMPTION_REACH - 1) ? [`${file} (${count} lines)`] : [];
    });
    expect(long).toEqual([]);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines without a reason`, () => {
    const long = files.flatMap((file) => longFunctions(file, readFileSync(path.join(ROOT, file), 'utf8')));
    expect(long).toEqual([]);
  });

  it('measures a function whole, nested functions included, and honours a reason', () => {
    const body = Array.from({ length: MAX_FUNCTION_LINES }, (_, i) => `  const x${i} = () => ${i};`).join('\n');
    const factory = `export function factory() {\n${body}\n}\n`;
    expect(longFunctions('a.ts', factory)).toEqual([`a.ts:1 factory (${MAX_FUNCTION_LINES + 2} lines)`]);
    expect(longFunctions('a.ts', `// size: one table of every event, read top to bottom\n${factory}`)).toEqual([]);
  });
});
