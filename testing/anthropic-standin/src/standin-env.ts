import { echoScript } from './echo-script';
import { type Standin, startStandin } from './standin-server';

function nonNegativeInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/**
 * Starts a stand-in configured by environment variables and announces it with one JSON line,
 * `{"url":"http://127.0.0.1:41234"}`, for a parent process to read from stdout:
 * - `PORT`: default 0 (any free port);
 * - `STANDIN_HOST`: default `127.0.0.1`;
 * - `STANDIN_API_KEY`: when set, requests must carry this key (else 401);
 * - `STANDIN_FIRST_DELTA_DELAY_MS`, `STANDIN_DELTA_INTERVAL_MS`: pacing of the echo replies (defaults 150, 20);
 * - `STANDIN_MIN_CACHEABLE_TOKENS`: shortest prefix the prompt cache keeps (default: the API's minimum for
 *   the requested model).
 *
 * @throws Error when a variable is malformed or the port cannot be bound.
 */
export async function startStandinFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  writeLine: (line: string) => void,
): Promise<Standin> {
  const apiKey = env['STANDIN_API_KEY'];
  const firstDeltaDelayMs = nonNegativeInteger(env, 'STANDIN_FIRST_DELTA_DELAY_MS');
  const deltaIntervalMs = nonNegativeInteger(env, 'STANDIN_DELTA_INTERVAL_MS');
  const minCacheableTokens = nonNegativeInteger(env, 'STANDIN_MIN_CACHEABLE_TOKENS');
  const standin = await startStandin({
    port: nonNegativeInteger(env, 'PORT') ?? 0,
    host: env['STANDIN_HOST'] || '127.0.0.1',
    ...(apiKey ? { apiKey } : {}),
    script: echoScript({
      ...(firstDeltaDelayMs === undefined ? {} : { firstDeltaDelayMs }),
      ...(deltaIntervalMs === undefined ? {} : { deltaIntervalMs }),
    }),
    ...(minCacheableTokens === undefined ? {} : { promptCache: { minCacheableTokens } }),
  });
  writeLine(JSON.stringify({ url: standin.url }));
  return standin;
}

/** This process's environment: read here, in the one module that parses it. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
