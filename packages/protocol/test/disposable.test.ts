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
