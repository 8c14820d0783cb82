/** Something that owns a resource and releases it. Disposing twice is harmless. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/**
 * Owns a set of resources (listeners, timers, sessions, connections) and releases them in
 * reverse order of acquisition, as VS Code's `DisposableStore` does. Browser-safe, so the
 * services and the page share one vocabulary. Synchronous releases all happen before
 * `dispose` returns; it returns a promise only when some item's release is asynchronous.
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;
  /** The first dispose's asynchronous releases, which a second dispose waits for too. */
  private releasing: Promise<void> | undefined;

  /** True once {@link dispose} has run. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Takes ownership of `item`; if the store is already disposed, disposes it at once. */
  add<T extends Disposable>(item: T): T {
    if (this.disposed) void item.dispose();
    else this.items.push(item);
    return item;
  }

  /** Takes ownership of a cleanup function. */
  defer(cleanup: () => void | Promise<void>): void {
    this.add({ dispose: cleanup });
  }

  /**
   * Releases everything, newest first. Asynchronous releases run side by side: a store is
   * one step of a shutdown; steps that must wait for each other are stores disposed in turn.
   * A second call releases nothing and returns what the first is still waiting for.
   */
  dispose(): void | Promise<void> {
    if (this.disposed) return this.releasing;
    this.disposed = true;
    const pending: Array<Promise<void>> = [];
    for (const item of this.items.splice(0).reverse()) {
      const released = item.dispose();
      if (released) pending.push(released);
    }
    if (pending.length > 0) this.releasing = Promise.all(pending).then(() => undefined);
    return this.releasing;
  }
}
