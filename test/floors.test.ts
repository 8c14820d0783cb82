/**
 * The house plan (ARCHITECTURE.md): libraries in packages/, services, apps, test support,
 * and the page. An import that points up a floor, or sideways between services, fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sourceFiles } from './source-files';

const ROOT = path.resolve(__dirname, '..');

/** Where each of our packages lives, by its npm name. */
const FLOOR_OF: Record<string, string> = {};
for (const floor of ['packages', 'services', 'apps', 'testing']) {
  for (const name of readdirSync(path.join(ROOT, floor))) {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, floor, name, 'package.json'), 'utf8')) as { name: string };
    FLOOR_OF[manifest.name] = `${floor}/${name}`;
  }
}

/** What each floor's source may import of ours (by floor or by package). */
const ALLOWED: Array<{ dirs: string[]; may: (target: string) => boolean; rule: string }> = [
  { dirs: ['packages/protocol'], may: () => false, rule: 'protocol imports nothing of ours' },
  {
    dirs: ['packages/transport', 'packages/runtime'],
    may: (target) => target.startsWith('packages/'),
    rule: 'libraries import only libraries',
  },
  {
    dirs: readdirSync(path.join(ROOT, 'services')).map((name) => `services/${name}`),
    may: (target) => target.startsWith('packages/'),
    rule: 'a service imports libraries, never another service, an app or test support',
  },
  {
    dirs: readdirSync(path.join(ROOT, 'testing')).map((name) => `testing/${name}`),
    may: (target) => target.startsWith('packages/'),
    rule: 'test support imports only libraries',
  },
  { dirs: ['web'], may: (target) => target === 'packages/protocol', rule: 'the page imports only protocol' },
];

/** Every module specifier a file imports, re-exports or requires. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm)) {
    found.push(match[1]!);
  }
  return found;
}

describe('the floors', () => {
  it.each(ALLOWED.flatMap(({ dirs, may, rule }) => dirs.map((dir) => [dir, rule, may] as const)))(
    '%s: %s',
    (dir, _rule, may) => {
      const violations: string[] = [];
      for (const file of sourceFiles(path.join(ROOT, dir, 'src'))) {
        for (const specifier of specifiers(file)) {
          let target: string | undefined;
          if (specifier.startsWith('@ctos/')) {
            target = FLOOR_OF[specifier.split('/').slice(0, 2).join('/')];
            if (target === undefined) violations.push(`${path.relative(ROOT, file)}: unknown ${specifier}`);
          } else if (specifier.startsWith('.')) {
            // A relative import must stay inside its own package.
            const resolved = path.relative(ROOT, path.resolve(path.dirname(file), specifier));
            if (!resolved.startsWith(`${dir}/`))
              violations.push(`${path.relative(ROOT, file)}: reaches out to ${resolved}`);
            continue;
          }
          if (target !== undefined && target !== dir && !may(target)) {
            violations.push(`${path.relative(ROOT, file)} imports ${specifier} (${target})`);
          }
        }
      }
      expect(violations).toEqual([]);
    },
  );

  it('holds only libraries in packages/, services in services/, programs in apps/ and test support in testing/', () => {
    expect(Object.values(FLOOR_OF).sort()).toEqual(
      [
        'apps/bench',
        'apps/launcher',
        'packages/protocol',
        'packages/runtime',
        'packages/transport',
        'services/ai-worker',
        'services/gateway',
        'services/message-worker',
        'services/terminal-worker',
        'testing/anthropic-standin',
        'testing/testkit',
      ].sort(),
    );
  });
});
