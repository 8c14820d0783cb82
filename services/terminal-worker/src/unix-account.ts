import { createHash } from 'node:crypto';
import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/** A user's Unix identity: the same on every worker, because it is allocated in the shared store. */
export interface UnixAccount {
  /** The token's `sub` this account belongs to. */
  sub: string;
  uid: number;
  /** The user's private group; always equal to `uid`. */
  gid: number;
  /** Login name: `^[a-z][a-z0-9]*-[0-9]+$`, at most 28 characters. */
  name: string;
  /** `<TERMINAL_HOME_ROOT>/<name>`. */
  home: string;
}

/** Characters of `sub` kept in a login name, so a person can tell accounts apart in `ps`. */
const NAME_HINT_CHARS = 16;

/**
 * The login name of `sub`'s account with `uid`: a readable hint of `sub` (lower-case ASCII
 * letters and digits only, at most 16), a dash, and the uid. Unique because the uid is;
 * valid for `useradd` whatever `sub` holds (spaces, `../`, `:`, newlines, emoji, any
 * length), and never the name of another account, since the part after the last dash is
 * the account's own uid.
 */
export function loginName(sub: string, uid: number): string {
  const hint = sub
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, NAME_HINT_CHARS);
  return `${/^[a-z]/.test(hint) ? hint : `u${hint}`}-${uid}`;
}

/** An account's entry in the set `unix:accounts`. */
function member(stored: StoredAccount): string {
  return `${stored.uid}:${stored.name}`;
}

/** The allocation as stored: JSON under `unix:account:<sha256 of sub>`. */
interface StoredAccount {
  uid: number;
  name: string;
}

/** Where accounts are allocated, and from which uid range. */
export interface AccountAllocatorOptions {
  store: KeyValueStore;
  uidMin: number;
  uidMax: number;
  homeRoot: string;
}

/**
 * What the caller does with a candidate uid before it is claimed for a `sub`: make the
 * account on this machine (`false`: the uid is taken here by something else, try the
 * next), and undo that when another worker's claim for the same `sub` won.
 */
export interface CandidateHandler {
  prepare(candidate: UnixAccount): Promise<boolean>;
  abandon(candidate: UnixAccount): Promise<void>;
}

/** Accepts every candidate (tests of the allocation alone). */
const ACCEPT_ALL: CandidateHandler = { prepare: () => Promise.resolve(true), abandon: () => Promise.resolve() };

/**
 * Allocates each `sub` one uid from `[uidMin, uidMax]`, once, atomically across every
 * worker sharing the store: a counter hands out candidates, the caller checks each on its
 * machine (a uid some account, group or home already has is skipped, so a lost store or
 * two deployments on one machine never hand one uid to two people), and `SET NX` on the
 * sub's key decides a race between workers. Every account this deployment made is listed
 * in the set `unix:accounts` (`<uid>:<name>`) before its claim, so an operator or the
 * cluster launcher can find every account to remove; a uid skipped as taken never is.
 * @throws ServiceError `UNAVAILABLE` when the range is used up.
 */
export class AccountAllocator {
  constructor(private readonly options: AccountAllocatorOptions) {}

  async accountOf(sub: string, candidates: CandidateHandler = ACCEPT_ALL): Promise<UnixAccount> {
    const key = `unix:account:${createHash('sha256').update(sub, 'utf8').digest('hex')}`;
    const existing = await this.options.store.get(key);
    if (existing !== null) return this.account(sub, JSON.parse(existing) as StoredAccount);
    for (;;) {
      const uid = this.options.uidMin + (await this.options.store.incr('unix:uid-next')) - 1;
      if (uid > this.options.uidMax) {
        throw new ServiceError(
          'UNAVAILABLE',
          'No Unix account can be created for you: the operator’s uid range is used up. Tell the operator.',
        );
      }
      const stored: StoredAccount = { uid, name: loginName(sub, uid) };
      const candidate = this.account(sub, stored);
      // Taken here by something else: never listed, so never removed as ours.
      if (!(await candidates.prepare(candidate))) continue;
      await this.options.store.sadd('unix:accounts', member(stored));
      if (await this.options.store.set(key, JSON.stringify(stored), { nx: true })) return candidate;
      // Another worker allocated this sub first: its uid stands, ours goes.
      await candidates.abandon(candidate);
      await this.options.store.srem('unix:accounts', member(stored));
      const winner = await this.options.store.get(key);
      if (winner === null) throw new ServiceError('UNAVAILABLE', 'Your account is being created; try again.');
      return this.account(sub, JSON.parse(winner) as StoredAccount);
    }
  }

  private account(sub: string, stored: StoredAccount): UnixAccount {
    return {
      sub,
      uid: stored.uid,
      gid: stored.uid,
      name: stored.name,
      home: `${this.options.homeRoot}/${stored.name}`,
    };
  }
}
