import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { commonSettings, ConfigError, parseConfig, setting } from '@ctos/runtime';

/** A schema with a secret, a plain setting and a URL, as the services' are built. */
const schema = z.object({
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  PORT: setting.port(8089),
  ALLOWED_ORIGINS: setting.list([]),
  REDIS_URL: setting.redisUrl().optional(),
});

const SECRET = 'a-secret-of-more-than-thirty-two-characters-0123456789';

/** The problem lines `parseConfig` throws for `env`, or a failure if it accepts it. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('a setting given as a file (X_FILE)', () => {
  let dir: string;
  const file = (name: string, content: string): string => {
    const at = path.join(dir, name);
    writeFileSync(at, content, { mode: 0o600 });
    return at;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctos-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is read from the file, less one trailing line break (LF or CRLF)', () => {
    const config = parseConfig(schema, {
      AUTH_JWT_SECRET_FILE: file('secret', `${SECRET}\n`),
      PORT_FILE: file('port', '9000\r\n'),
      ALLOWED_ORIGINS_FILE: file('origins', 'https://a.example, https://b.example'),
    });
    expect(config).toEqual({
      AUTH_JWT_SECRET: SECRET,
      PORT: 9000,
      ALLOWED_ORIGINS: ['https://a.example', 'https://b.example'],
    });
  });

  it('keeps every line break but the last one', () => {
    const config = parseConfig(z.object({ AI_SYSTEM_PROMPT: z.string() }), {
      AI_SYSTEM_PROMPT_FILE: file('prompt', 'line one\nline two\n\n'),
    });
    expect(config.AI_SYSTEM_PROMPT).toBe('line one\nline two\n');
  });

  it('counts an empty file as unset, as an empty variable is', () => {
    const config = parseConfig(schema, { PORT_FILE: file('empty', '\n'), AUTH_JWT_SECRET: '' });
    expect(config.PORT).toBe(8089);
    expect(config.AUTH_JWT_SECRET).toBeUndefined();
  });

  it('is refused when the variable is set too, naming both', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: SECRET, AUTH_JWT_SECRET_FILE: file('both', SECRET) });
    expect(problems).toEqual(['AUTH_JWT_SECRET and AUTH_JWT_SECRET_FILE are both set: give one of them']);
  });

  it('is refused when it cannot be read, naming the variable, the path and the reason', () => {
    const missing = path.join(dir, 'no-such-file');
    expect(problemsOf({ AUTH_JWT_SECRET_FILE: missing })).toEqual([
      `AUTH_JWT_SECRET_FILE: cannot read ${missing} (ENOENT)`,
    ]);
    expect(problemsOf({ AUTH_JWT_SECRET_FILE: dir })).toEqual([`AUTH_JWT_SECRET_FILE: cannot read ${dir} (EISDIR)`]);
  });

  it('is reported together with every other bad setting', () => {
    const missing = path.join(dir, 'missing-token');
    const problems = problemsOf({
      AUTH_JWT_SECRET_FILE: missing,
      PORT: 'abc',
      REDIS_URL: 'localhost:6379',
      REDIS_URL_FILE: file('url', 'redis://localhost:6379'),
    });
    expect(problems.map((p) => p.split(/[: ]/)[0]).sort()).toEqual(['AUTH_JWT_SECRET_FILE', 'PORT', 'REDIS_URL']);
  });

  it('never echoes a bad value read from a file, but says where it came from', () => {
    const short = 'short-file-secret';
    const problems = problemsOf({ AUTH_JWT_SECRET_FILE: file('short', short), PORT_FILE: file('bad-port', 'p0rt') });
    expect(problems).toEqual([
      'AUTH_JWT_SECRET: must be at least 32 characters (read from AUTH_JWT_SECRET_FILE)',
      expect.stringMatching(/^PORT: .* \(read from PORT_FILE\)$/),
    ]);
    expect(problems.join('\n')).not.toContain(short);
    expect(problems.join('\n')).not.toContain('p0rt');
  });

  it('applies to the common settings: REDIS_PASSWORD_FILE gives REDIS_PASSWORD', () => {
    const config = parseConfig(z.object(commonSettings), {
      REDIS_URL: 'redis://redis:6379',
      REDIS_PASSWORD_FILE: file('redis-password', 'hunter2-but-longer\n'),
    });
    expect(config.REDIS_PASSWORD).toBe('hunter2-but-longer');
    expect(config.REDIS_URL).toBe('redis://redis:6379');
  });
});

describe('a bad value given in a variable', () => {
  it('is echoed when the setting is no secret', () => {
    expect(problemsOf({ PORT: 'abc' })).toEqual([expect.stringMatching(/^PORT: .* \(got "abc"\)$/)]);
  });

  it('is not echoed when the name says it is a secret', () => {
    const problems = problemsOf({ AUTH_JWT_SECRET: 'short-env-secret' });
    expect(problems).toEqual(['AUTH_JWT_SECRET: must be at least 32 characters']);
  });

  it('has a URL password masked', () => {
    const problems = problemsOf({ REDIS_URL: 'http://:hunter2@redis:6379' });
    expect(problems).toEqual([expect.stringContaining('(got "http://:***@redis:6379")')]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });
});
