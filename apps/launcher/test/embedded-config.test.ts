import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, createLogger } from '@ctos/runtime';
import { startEmbedded } from '../src/embedded';

describe('embedded mode with bad settings', () => {
  it('reports every bad value of every service together, and starts nothing', async () => {
    const start = startEmbedded({
      env: { PORT: 'abc', TERMINAL_IDLE_TIMEOUT_MS: '-1', AI_MAX_TOKENS: 'x', MESSAGE_RETENTION_COUNT: '0' },
      logger: (service) => createLogger({ service, level: 'silent' }),
    });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    const problems = await start.catch((error: ConfigError) => error.problems);
    expect((problems as string[]).map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['PORT', 'TERMINAL_IDLE_TIMEOUT_MS', 'AI_MAX_TOKENS', 'MESSAGE_RETENTION_COUNT']),
    );
  });
});

describe('npm start with a bad LOG_LEVEL', () => {
  it('exits with status 2 naming it, like every other bad setting (not a logger crash)', () => {
    const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'dist', 'embedded-main.js')], {
      env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'loud', TERMINAL_IDLE_TIMEOUT_MS: '-1' },
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/LOG_LEVEL: .*\(got "loud"\)/);
    expect(result.stderr).toMatch(/TERMINAL_IDLE_TIMEOUT_MS/);
  });
});
