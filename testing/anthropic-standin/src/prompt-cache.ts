import { createHash } from 'node:crypto';
import type { MessagesRequest } from './messages-request';
import { type CacheTtl, type PromptBlock, promptBlocks } from './prompt-blocks';

const TTL_MS: Readonly<Record<CacheTtl, number>> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/**
 * The API looks for an earlier cache entry at the block boundaries up to about 20 blocks before each
 * breakpoint, which is what lets a conversation whose breakpoint moves to the newest turn read the
 * previous turn's entry.
 */
const LOOKBACK_BLOCKS = 20;

/** Entries kept at most; the oldest go first. A test run writes far fewer, this only bounds a long-lived CLI. */
const MAX_ENTRIES = 10_000;

/**
 * Shortest prefix the API caches, by model (docs: "Minimum cacheable prompt length"); a breakpoint on a
 * shorter prefix is ignored without an error. Models not listed (Sonnet 4.5 to 5, Opus 4 to 4.1 and 4.8)
 * get {@link DEFAULT_MINIMUM}.
 */
const MINIMUM_BY_MODEL: readonly (readonly [RegExp, number])[] = [
  [/(opus|fable|mythos)-5/u, 512],
  [/opus-4-7/u, 2048],
  [/haiku-4-5|opus-4-[56]/u, 4096],
  [/3-haiku|3-5-haiku/u, 2048],
];
const DEFAULT_MINIMUM = 1024;

/** The minimum cacheable prompt length the API applies to `model`, in tokens. */
export function minimumCacheableTokens(model: string): number {
  return MINIMUM_BY_MODEL.find(([pattern]) => pattern.test(model))?.[1] ?? DEFAULT_MINIMUM;
}

/** How a request's input tokens split between the cache and fresh input. */
export interface CacheAccount {
  /** Tokens after the last breakpoint, or all of them when nothing is cached. */
  readonly inputTokens: number;
  readonly cacheReadInputTokens: number;
  readonly cacheCreationInputTokens: number;
  readonly ephemeral5mInputTokens: number;
  readonly ephemeral1hInputTokens: number;
  /** Writes (or refreshes) the request's entries; called once the response is under way. */
  readonly commit: () => void;
}

/** How to run a {@link PromptCache}. */
export interface PromptCacheOptions {
  /** Overrides the per-model minimum cacheable prompt length, e.g. to cache short prompts in a test. */
  readonly minCacheableTokens?: number;
  /** Milliseconds since the epoch; default `Date.now`. Lets a test move past the TTL without waiting. */
  readonly clock?: () => number;
}

interface Entry {
  expiresAt: number;
  readonly ttlMs: number;
}

/**
 * The prompt cache of one stand-in, in memory: prefixes up to each `cache_control` breakpoint, with the
 * API's TTLs (refreshed on every use) and minimum lengths, so that usage reports `cache_read_input_tokens`
 * for a repeated prefix and `cache_creation_input_tokens` for a new one, as the API does.
 */
export class PromptCache {
  readonly #entries = new Map<string, Entry>();
  readonly #minimum: number | undefined;
  readonly #clock: () => number;

  constructor(options: PromptCacheOptions = {}) {
    this.#minimum = options.minCacheableTokens;
    this.#clock = options.clock ?? Date.now;
  }

  /** Works out what `request` reads from and writes to the cache, without changing it until `commit()`. */
  account(request: MessagesRequest): CacheAccount {
    const blocks = promptBlocks(request);
    const hashes = chainHashes(request.model, blocks);
    const ends = cumulativeTokens(blocks);
    const total = ends.at(-1) ?? 0;
    const minimum = this.#minimum ?? minimumCacheableTokens(request.model);
    // Prefixes only grow, so once a breakpoint is long enough every later one is too.
    const breakpoints = blocks.flatMap((block, i) => (block.breakpoint && (ends[i] ?? 0) >= minimum ? [i] : []));
    const last = breakpoints.at(-1);
    if (last === undefined) return uncached(Math.max(1, total));

    const now = this.#clock();
    const hit = this.#longestHit(hashes, breakpoints, now);
    const read = hit === undefined ? 0 : (ends[hit] ?? 0);
    const created: Record<CacheTtl, number> = { '5m': 0, '1h': 0 };
    let from = read;
    for (const b of breakpoints) {
      if (hit !== undefined && b <= hit) continue;
      created[blocks[b]?.breakpoint ?? '5m'] += (ends[b] ?? 0) - from;
      from = ends[b] ?? 0;
    }
    const commit = (): void => {
      if (hit !== undefined) this.#touch(hashes[hit] as string, undefined, now);
      for (const b of breakpoints) this.#touch(hashes[b] as string, TTL_MS[blocks[b]?.breakpoint ?? '5m'], now);
    };
    return {
      inputTokens: Math.max(0, total - (ends[last] ?? 0)),
      cacheReadInputTokens: read,
      cacheCreationInputTokens: created['5m'] + created['1h'],
      ephemeral5mInputTokens: created['5m'],
      ephemeral1hInputTokens: created['1h'],
      commit,
    };
  }

  /** The last block of the longest live cached prefix within reach of a breakpoint. */
  #longestHit(hashes: readonly string[], breakpoints: readonly number[], now: number): number | undefined {
    const last = breakpoints.at(-1) ?? -1;
    for (let p = last; p >= 0; p--) {
      if (!breakpoints.some((b) => p <= b && p >= b - LOOKBACK_BLOCKS)) continue;
      const entry = this.#entries.get(hashes[p] as string);
      if (entry !== undefined && entry.expiresAt > now) return p;
    }
    return undefined;
  }

  /** Writes or refreshes an entry (keeping its TTL when `ttlMs` is undefined), newest last in the map. */
  #touch(hash: string, ttlMs: number | undefined, now: number): void {
    const known = this.#entries.get(hash);
    const ttl = Math.max(ttlMs ?? 0, known?.ttlMs ?? 0);
    this.#entries.delete(hash);
    this.#entries.set(hash, { expiresAt: now + ttl, ttlMs: ttl });
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= MAX_ENTRIES) break;
      this.#entries.delete(oldest);
    }
  }
}

function uncached(total: number): CacheAccount {
  return {
    inputTokens: total,
    cacheReadInputTokens: 0,
    cacheCreationInputTokens: 0,
    ephemeral5mInputTokens: 0,
    ephemeral1hInputTokens: 0,
    commit: () => undefined,
  };
}

/** `hashes[i]` identifies the prefix ending with block `i` (the model included: caches are per model). */
function chainHashes(model: string, blocks: readonly PromptBlock[]): string[] {
  let previous = createHash('sha256').update(model).digest('hex');
  return blocks.map((block) => {
    previous = createHash('sha256').update(previous).update(block.key).digest('hex');
    return previous;
  });
}

/** `ends[i]`: tokens of the prefix ending with block `i`. */
function cumulativeTokens(blocks: readonly PromptBlock[]): number[] {
  let sum = 0;
  return blocks.map((block) => (sum += block.tokens));
}
