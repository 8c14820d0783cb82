/** Both of this package's hosts (Node and the browser) have a console; its lib names neither. */
declare const console: { error(...data: unknown[]): void };

/** Something that owns a resource and releases it. Disposing twice is harmless. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/**
 * Owns a set of resources (listeners, timers, sessions, connections) and releases them in
 * reverse order of acquisition, as VS Code's `DisposableStore` does. Browser-safe, so the
 * services and the page share one vocabulary. Synchronous releases all happen before
 * `dispose` returns; it returns a promise only when some item's release is asynchronous.
 *
 * One release that fails never stops the others: every item is released, then the
 * failures are raised together (the error itself when there is one, else an
 * `AggregateError`), synchronously when every release was synchronous, else as the
 * rejection of the returned promise once every release has settled.
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

  /**
   * Takes ownership of `item`; if the store is already disposed, disposes it at once (a
   * synchronous failure is thrown to the caller; an asynchronous one is logged with
   * `console.error`, as nobody is left to await it).
   */
  add<T extends Disposable>(item: T): T {
    if (!this.disposed) {
      this.items.push(item);
      return item;
    }
    const released = item.dispose();
    if (released) released.catch((error: unknown) => console.error('a late release failed', error));
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
   * @throws the failure of a release (or an `AggregateError` of several), after releasing all
   */
  dispose(): void | Promise<void> {
    if (this.disposed) return this.releasing;
    this.disposed = true;
    const pending: Array<Promise<void>> = [];
    const failures: unknown[] = [];
    for (const item of this.items.splice(0).reverse()) {
      try {
        const released = item.dispose();
        if (released) pending.push(released);
      } catch (error) {
        failures.push(error);
      }
    }
    if (pending.length === 0) {
      if (failures.length > 0) throw combined(failures);
      return undefined;
    }
    this.releasing = Promise.allSettled(pending).then((results) => {
      for (const result of results) if (result.status === 'rejected') failures.push(result.reason);
      if (failures.length > 0) throw combined(failures);
    });
    return this.releasing;
  }
}

function combined(failures: readonly unknown[]): unknown {
  return failures.length === 1 ? failures[0] : new AggregateError(failures, `${failures.length} releases failed`);
}
