import { ServiceError } from '@ctos/protocol';
import type { Announcement, AnnouncementHandle, HeartbeatOptions, Registry, WorkerInfo, WorkerKind } from './types';

/** Every kind, for the reaper to sweep. */
export const WORKER_KINDS: readonly WorkerKind[] = ['gateway', 'terminal', 'ai', 'message'];

/**
 * Storage under a {@link Registry}: Redis in distributed mode, a map in embedded mode.
 * Time is the backend's own clock, so processes with skewed clocks agree.
 */
export interface RegistryBackend {
  /** Records a heartbeat of `info`, stamped with the backend's time. */
  beat(info: WorkerInfo, ttlMs: number): Promise<void>;
  /** Removes an instance that is leaving on purpose. */
  remove(id: string, kind: WorkerKind): Promise<void>;
  /** Instances of `kind` whose last beat is newer than `deadlineMs` ago. */
  list(kind: WorkerKind, deadlineMs: number): Promise<WorkerInfo[]>;
  /**
   * Atomically removes and returns every instance whose last beat is older than
   * `deadlineMs`: of several concurrent callers, exactly one gets each dead instance.
   */
  reap(deadlineMs: number): Promise<Array<{ id: string; kind: WorkerKind }>>;
  /** Tells every registry in the cluster that an instance died. */
  publishDeath(dead: { id: string; kind: WorkerKind }): Promise<void>;
  /** Hears every published death. */
  subscribeDeaths(listener: (dead: { id: string; kind: WorkerKind }) => void): Promise<() => void>;
  dispose(): Promise<void>;
}

/** Hooks to observe the registry (logs, metrics). */
export interface RegistryObserver {
  onBackendError?(operation: string, error: unknown): void;
  onBackendRecovered?(): void;
}

/**
 * Heartbeats, liveness and least-loaded placement over a {@link RegistryBackend}.
 * Every instance also runs the reaper: each death is claimed by one reaper and then
 * published to all, so `onDeath` listeners everywhere hear of it exactly once.
 */
export class HeartbeatRegistry implements Registry {
  private readonly listeners = new Set<(dead: { id: string; kind: WorkerKind }) => void>();
  private readonly beating = new Set<NodeJS.Timeout>();
  private readonly reaper: NodeJS.Timeout;
  private unsubscribe: Promise<() => void>;
  private backendHealthy = true;
  private disposed = false;

  constructor(
    private readonly backend: RegistryBackend,
    private readonly options: HeartbeatOptions,
    private readonly observer: RegistryObserver = {},
  ) {
    this.unsubscribe = backend.subscribeDeaths((dead) => {
      for (const listener of this.listeners) listener(dead);
    });
    // Sweeping twice per interval bounds detection at deadline + interval/2.
    this.reaper = setInterval(() => void this.reap(), Math.max(1, options.intervalMs / 2));
    this.reaper.unref();
  }

  get healthy(): boolean {
    return this.backendHealthy;
  }

  private get deadlineMs(): number {
    return this.options.intervalMs * this.options.missedBeats;
  }

  announce(self: Announcement): AnnouncementHandle {
    const info = (): WorkerInfo => ({ id: self.id, kind: self.kind, capacity: self.capacity, load: self.load() });
    // The hash outlives a beat by the whole deadline so a slow beat never loses it.
    const beat = (): Promise<void> => this.guard('beat', () => this.backend.beat(info(), this.deadlineMs * 2));
    void beat();
    const timer = setInterval(() => void beat(), this.options.intervalMs);
    timer.unref();
    this.beating.add(timer);
    let stopped = false;
    return {
      touch: () => {
        if (!stopped) void beat();
      },
      dispose: async () => {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        this.beating.delete(timer);
        await this.guard('remove', () => this.backend.remove(self.id, self.kind));
      },
    };
  }

  async live(kind: WorkerKind): Promise<WorkerInfo[]> {
    try {
      const list = await this.backend.list(kind, this.deadlineMs);
      this.markHealthy();
      return list;
    } catch (error) {
      this.markUnhealthy('list', error);
      throw new ServiceError('UNAVAILABLE', 'The service registry cannot be reached; try again shortly.');
    }
  }

  async pick(kind: WorkerKind): Promise<WorkerInfo> {
    const live = await this.live(kind);
    if (live.length === 0) {
      throw new ServiceError('UNAVAILABLE', `No ${kind} worker is running; try again shortly.`);
    }
    let best: WorkerInfo | undefined;
    for (const worker of live) {
      if (worker.load >= worker.capacity) continue;
      if (!best || worker.load / worker.capacity < best.load / best.capacity) best = worker;
    }
    if (!best) throw new ServiceError('UNAVAILABLE', `Every ${kind} worker is at capacity; try again later.`);
    return best;
  }

  onDeath(listener: (dead: { id: string; kind: WorkerKind }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.reaper);
    // Beats stop without deregistering: to the others this looks like a crash, and an
    // instance that meant to leave disposed its announcement first.
    for (const timer of this.beating) clearInterval(timer);
    this.beating.clear();
    this.listeners.clear();
    (await this.unsubscribe.catch(() => () => undefined))();
  }

  private async reap(): Promise<void> {
    if (this.disposed) return;
    const dead = await this.guard('reap', () => this.backend.reap(this.deadlineMs));
    for (const instance of dead ?? []) {
      await this.guard('publishDeath', () => this.backend.publishDeath(instance));
    }
  }

  /** Runs a backend operation; failures flip `healthy` and are reported once per outage. */
  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await run();
      this.markHealthy();
      return result;
    } catch (error) {
      this.markUnhealthy(operation, error);
      return undefined;
    }
  }

  private markHealthy(): void {
    if (this.backendHealthy) return;
    this.backendHealthy = true;
    this.observer.onBackendRecovered?.();
  }

  private markUnhealthy(operation: string, error: unknown): void {
    if (!this.backendHealthy) return;
    this.backendHealthy = false;
    this.observer.onBackendError?.(operation, error);
  }
}
