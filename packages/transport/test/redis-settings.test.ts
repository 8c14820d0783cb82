import { z } from 'zod';
import { commonSettings, ConfigError, isDistributed, parseConfig, requireRedis } from '@ctos/runtime';
import { redisTarget } from '@ctos/transport';

const schema = z.object(commonSettings);

/** The settings parsed from `env`, with the problem lines of `requireRedis` for a gateway. */
function redisProblems(env: Record<string, string>): string[] {
  try {
    return requireRedis(parseConfig(schema, env), 'gateway');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('where Redis is: REDIS_URL or REDIS_SENTINELS', () => {
  it('parses the Sentinels as host:port pairs, spaces and empty entries ignored', () => {
    const config = parseConfig(schema, {
      REDIS_SENTINELS: 'sentinel-1:26379, 10.0.0.2:26380,,',
      REDIS_SENTINEL_NAME: 'ctos',
    });
    expect(config.REDIS_SENTINELS).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
    ]);
    expect([isDistributed(config), requireRedis(config, 'gateway')]).toEqual([true, []]);
  });

  it('names each bad Sentinel list with the reason', () => {
    expect(redisProblems({ REDIS_SENTINELS: 'sentinel-1', REDIS_SENTINEL_NAME: 'ctos' })).toEqual([
      'REDIS_SENTINELS: each address must be host:port, not "sentinel-1" (got "sentinel-1")',
    ]);
    expect(redisProblems({ REDIS_SENTINELS: 'sentinel-1:70000', REDIS_SENTINEL_NAME: 'ctos' })).toEqual([
      'REDIS_SENTINELS: each port must be 1–65535, not 70000 (got "sentinel-1:70000")',
    ]);
    expect(redisProblems({ REDIS_SENTINELS: ' , ', REDIS_SENTINEL_NAME: 'ctos' })).toEqual([
      'REDIS_SENTINELS: at least one host:port (got " , ")',
    ]);
  });

  it('requires the master group name with Sentinels, and the Sentinels take the place of REDIS_URL', () => {
    expect(redisProblems({ REDIS_SENTINELS: 'sentinel-1:26379' })).toEqual([
      'REDIS_SENTINEL_NAME: required with REDIS_SENTINELS',
    ]);
    expect(
      redisProblems({ REDIS_URL: 'redis://redis:6379', REDIS_SENTINELS: 'sentinel-1:26379', REDIS_SENTINEL_NAME: 'x' }),
    ).toEqual([]);
    expect(
      redisTarget(
        parseConfig(schema, {
          REDIS_URL: 'redis://redis:6379',
          REDIS_SENTINELS: 'sentinel-1:26379',
          REDIS_SENTINEL_NAME: 'ctos',
          REDIS_PASSWORD: 'pw',
          REDIS_SENTINEL_AUTH: 'true',
        }),
      ),
    ).toEqual({
      sentinels: [{ host: 'sentinel-1', port: 26379 }],
      name: 'ctos',
      password: 'pw',
      sentinelPassword: 'pw',
    });
    expect(redisTarget(parseConfig(schema, { REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'pw' }))).toEqual({
      url: 'redis://redis:6379',
      password: 'pw',
    });
    expect(redisProblems({})).toEqual([
      'REDIS_URL: required (the gateway runs in distributed mode), or REDIS_SENTINELS with REDIS_SENTINEL_NAME',
    ]);
    expect(
      redisProblems({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'x', REDIS_SENTINEL_AUTH: 'true' }),
    ).toEqual([
      'REDIS_SENTINEL_AUTH: needs REDIS_PASSWORD (or REDIS_PASSWORD_FILE), the password it sends the Sentinels',
    ]);
    expect(redisProblems({ REDIS_URL: 'redis://redis:6379', REDIS_SENTINEL_AUTH: 'true' })).toEqual([
      'REDIS_SENTINEL_AUTH: only with REDIS_SENTINELS',
    ]);
    expect(isDistributed(parseConfig(schema, {}))).toBe(false);
    expect(redisProblems({ REDIS_URL: 'redis://redis:6379' })).toEqual([]);
  });
});
