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
