import { z } from 'zod';
import { parseConfig, setting } from '@ctos/runtime';

/** Settings only embedded mode reads (the services' own settings apply too). */
export const embeddedSettings = {
  /** The local user embedded mode signs in as (the token's `sub`). */
  EMBEDDED_USER: z.string().min(1).max(128).default('local'),
  /** Lifetime of the token the login URL gives (seconds). */
  EMBEDDED_TOKEN_TTL_S: setting.int(12 * 60 * 60, 60),
  /** Folder of the built web page; default the repository's web/dist. */
  WEB_DIST_DIR: z.string().min(1).optional(),
};

export type EmbeddedConfig = z.output<z.ZodObject<typeof embeddedSettings>>;

/** Parses embedded mode's own settings from `env` (default: this process's). */
export function loadEmbeddedConfig(env: Record<string, string | undefined> = process.env): EmbeddedConfig {
  return parseConfig(z.object(embeddedSettings), env);
}

/** The whole environment, read once, for the service config parsers. */
export function processEnv(): Record<string, string | undefined> {
  return process.env;
}
