import { ServiceError } from '@ctos/protocol';
import { BUILDS, transportFactory, type TransportFactory } from '@ctos/testkit';
import { AccountAllocator, loginName } from '../src/unix-account';

/** The `sub` values issue 15 names as hostile, and a few more of the same kind. */
export const HOSTILE_SUBS = [
  'alice',
  'Alice',
  'alice bob',
  '../../etc/passwd',
  '../alice',
  'root',
  'alice:0:0',
  'line\nbreak',
  'x'.repeat(300),
  '🦊🦊',
  '日本語のユーザー',
  '-rf',
  '0',
  '',
];

/** useradd's rule for a login name (shadow's default NAME_REGEX), and its length limit. */
const VALID_NAME = /^[a-z_][a-z0-9_-]*$/;
const MAX_NAME = 32;

describe('login names', () => {
  it('are valid and unique for every hostile sub, and say which uid they belong to', () => {
    const names = HOSTILE_SUBS.map((sub, i) => loginName(sub, 70_000 + i));
    for (const name of names) {
      expect(name).toMatch(VALID_NAME);
      expect(name.length).toBeLessThanOrEqual(MAX_NAME);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(names.map((name) => Number(name.slice(name.lastIndexOf('-') + 1)))).toEqual(
      HOSTILE_SUBS.map((_, i) => 70_000 + i),
    );
  });

  it('never equal a sub that tries to name another account', () => {
    expect(loginName('bob-70001', 70_000)).toBe('bob70001-70000');
    expect(loginName('root', 70_000)).toBe('root-70000');
  });
});

describe.each(BUILDS)('uid allocation (%s store)', (build) => {
  let factory: TransportFactory;
  const allocator = (uidMin = 70_000, uidMax = 79_999): AccountAllocator =>
    new AccountAllocator({ store: factory.open(`a-${Math.random()}`).store, uidMin, uidMax, homeRoot: '/homes' });

  beforeEach(() => {
    factory = transportFactory(build, { intervalMs: 1000, missedBeats: 3 }, 'uid');
  });
  afterEach(() => factory.cleanup());

  it('gives every sub its own uid, and the same one on every worker, however many ask at once', async () => {
    const workers = [allocator(), allocator()];
    const answers = await Promise.all(
      HOSTILE_SUBS.flatMap((sub) => workers.flatMap((worker) => [worker.accountOf(sub), worker.accountOf(sub)])),
    );
    const bySub = new Map<string, Set<number>>();
    for (const account of answers) {
      if (!bySub.has(account.sub)) bySub.set(account.sub, new Set());
      bySub.get(account.sub)!.add(account.uid);
      expect(account.gid).toBe(account.uid);
      expect(account.name).toBe(loginName(account.sub, account.uid));
      expect(account.home).toBe(`/homes/${account.name}`);
    }
    const uids = [...bySub.values()].map((set) => [...set]);
    for (const set of uids) expect(set).toHaveLength(1);
    expect(new Set(uids.flat()).size).toBe(HOSTILE_SUBS.length);
    for (const uid of uids.flat()) {
      expect(uid).toBeGreaterThanOrEqual(70_000);
      expect(uid).toBeLessThanOrEqual(79_999);
    }
  });

  it('answers UNAVAILABLE once the range is used up, and keeps the accounts it gave', async () => {
    const worker = allocator(70_000, 70_001);
    const first = await worker.accountOf('a');
    await worker.accountOf('b');
    const refusal = await worker.accountOf('c').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ServiceError);
    expect((refusal as ServiceError).code).toBe('UNAVAILABLE');
    expect(await worker.accountOf('a')).toEqual(first);
  });

  it('lists every account it made, for removal, and never a uid it skipped as taken by something else', async () => {
    const store = factory.open('lister').store;
    const worker = new AccountAllocator({ store, uidMin: 70_000, uidMax: 79_999, homeRoot: '/homes' });
    // The machine already has 70000 (another deployment's user, say): skipped, not listed.
    const machine = {
      prepare: (c: { uid: number }) => Promise.resolve(c.uid !== 70_000),
      abandon: () => Promise.resolve(),
    };
    const accounts = await Promise.all(['a', 'b'].map((sub) => worker.accountOf(sub, machine)));
    expect(accounts.map((a) => a.uid)).not.toContain(70_000);
    expect((await store.smembers('unix:accounts')).sort()).toEqual(accounts.map((a) => `${a.uid}:${a.name}`).sort());
  });
});
