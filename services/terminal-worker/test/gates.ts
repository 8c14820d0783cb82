import { readdirSync, readFileSync } from 'node:fs';
import type { KeyValueStore, Registry, Transport } from '@ctos/transport';

/** A promise and the function that settles it. */
export function deferred(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A point where a test holds the worker: the held code calls {@link pass}, which tells
 * the test ({@link reached}) and waits for {@link release}. Once released, it holds no one.
 */
export class Hold {
  private readonly arrived = deferred();
  private readonly go = deferred();
  /** Settles when the held code has got here. */
  readonly reached = this.arrived.promise;

  async pass(): Promise<void> {
    this.arrived.open();
    await this.go.promise;
  }

  release(): void {
    this.go.open();
  }
}

/** `transport` with some of its parts replaced. */
export function withParts(transport: Transport, parts: { store?: KeyValueStore; registry?: Registry }): Transport {
  return {
    bus: transport.bus,
    registry: parts.registry ?? transport.registry,
    emitter: transport.emitter,
    adapter: transport.adapter,
    store: parts.store ?? transport.store,
    attachServer: (server) => transport.attachServer(server),
    roomsSubscribed: () => transport.roomsSubscribed(),
    onResubscribed: (listener) => transport.onResubscribed(listener),
    healthy: () => transport.healthy(),
    dispose: () => transport.dispose(),
  };
}

/** `target` with its methods bound and `name` replaced by `replacement`. */
function replacing<T extends object>(target: T, name: string, replacement: unknown): T {
  return new Proxy(target, {
    get(object, property) {
      if (property === name) return replacement;
      const value: unknown = Reflect.get(object, property, object);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

/** `store` whose calls of `method` on a key containing `keyPart` first wait for `gate`. */
export function gatedStore(
  store: KeyValueStore,
  method: 'smembers' | 'hset',
  keyPart: string,
  gate: () => Promise<void>,
): KeyValueStore {
  const original = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
  return replacing(store, method, async (key: string, ...rest: unknown[]) => {
    if (key.includes(keyPart)) await gate();
    return original(key, ...rest);
  });
}

/**
 * `registry` whose `onDeath` listeners hear each death only once `gate` lets them, and
 * call `handled` after: the worker handles a death late, as when the announcement
 * reaches it after other messages.
 */
export function gatedDeaths(
  registry: Registry,
  gate: (dead: { id: string; kind: string }) => Promise<void>,
  handled: () => void,
): Registry {
  type Listener = Parameters<Registry['onDeath']>[0];
  return replacing(registry, 'onDeath', (listener: Listener) =>
    registry.onDeath((dead) => {
      void gate(dead).then(() => {
        listener(dead);
        handled();
      });
    }),
  );
}

/**
 * Pids of live processes whose environment holds `mark` (zombies have none): the shells
 * a test started, found on the system rather than through the worker.
 */
export function processesMarked(mark: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(mark)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}
