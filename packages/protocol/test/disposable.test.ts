import { DisposableStore } from '../src';

describe('a disposable store', () => {
  it('releases what it owns once, newest first, before dispose returns when every release is synchronous', () => {
    const released: string[] = [];
    const store = new DisposableStore();
    store.defer(() => void released.push('timer'));
    store.add({ dispose: () => void released.push('listener') });
    expect(store.dispose()).toBeUndefined();
    expect(released).toEqual(['listener', 'timer']);
    store.dispose();
    expect(released).toEqual(['listener', 'timer']);
    expect(store.isDisposed).toBe(true);
  });

  it('waits for asynchronous releases, and releases at once what it is given after it was disposed', async () => {
    const released: string[] = [];
    const store = new DisposableStore();
    store.defer(async () => {
      await Promise.resolve();
      released.push('connection');
    });
    const done = store.dispose();
    expect(done).toBeInstanceOf(Promise);
    await done;
    expect(released).toEqual(['connection']);
    store.defer(() => void released.push('late'));
    expect(released).toEqual(['connection', 'late']);
  });

  it('makes a second dispose wait for the first one’s asynchronous releases', async () => {
    let finish: () => void = () => undefined;
    const store = new DisposableStore();
    store.defer(() => new Promise<void>((resolve) => (finish = resolve)));
    const first = store.dispose();
    const second = store.dispose();
    expect(second).toBe(first);
    let waited = false;
    const after = Promise.resolve(second).then(() => (waited = true));
    await Promise.resolve();
    expect(waited).toBe(false);
    finish();
    await after;
    expect(waited).toBe(true);
  });
});

describe('a disposable store whose releases fail', () => {
  it('releases every item, then throws the failure, and a second dispose releases nothing more', () => {
    const released: string[] = [];
    const store = new DisposableStore();
    store.defer(() => void released.push('first'));
    store.defer(() => {
      throw new Error('boom');
    });
    store.defer(() => void released.push('last'));
    expect(() => store.dispose()).toThrow('boom');
    expect(released).toEqual(['last', 'first']);
    expect(store.dispose()).toBeUndefined();
    expect(released).toEqual(['last', 'first']);
  });

  it('waits for every asynchronous release before rejecting with all the failures', async () => {
    const released: string[] = [];
    let finishSlow: () => void = () => undefined;
    const store = new DisposableStore();
    store.defer(
      () =>
        new Promise<void>((resolve) => {
          finishSlow = () => {
            released.push('slow');
            resolve();
          };
        }),
    );
    store.defer(() => Promise.reject(new Error('fast failure')));
    store.defer(() => {
      throw new Error('sync failure');
    });
    let settled = false;
    const done = Promise.resolve(store.dispose()).finally(() => (settled = true));
    done.catch(() => undefined);
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false); // the slow one is still releasing
    finishSlow();
    const error = (await done.then(
      () => undefined,
      (e: unknown) => e,
    )) as AggregateError;
    expect(error).toBeInstanceOf(AggregateError);
    expect(error.errors.map((e: Error) => e.message)).toEqual(['sync failure', 'fast failure']);
    expect(released).toEqual(['slow']);
  });

  it('logs, never leaves unhandled, the failure of an asynchronous release added after it was disposed', async () => {
    const logged: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args);
    try {
      const store = new DisposableStore();
      store.dispose();
      const late = new Error('late failure');
      store.defer(() => Promise.reject(late));
      await new Promise((resolve) => setImmediate(resolve));
      expect(logged).toEqual([['a late release failed', late]]);
    } finally {
      console.error = original;
    }
  });
});
