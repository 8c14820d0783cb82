/** Something that owns a resource and releases it. Disposing twice is harmless. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/**
 * Owns a set of resources (listeners, timers, connections) and releases them in reverse
 * order of acquisition, as VS Code's `DisposableStore` does.
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

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

  /** Takes ownership of an interval or timeout. */
  timer(handle: NodeJS.Timeout): NodeJS.Timeout {
    this.defer(() => clearTimeout(handle));
    return handle;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const item of this.items.splice(0).reverse()) await item.dispose();
  }
}
