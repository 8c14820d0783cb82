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
});
