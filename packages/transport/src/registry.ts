import { pendingAfter } from '@ctos/runtime';
import { ServiceError } from '@ctos/protocol';
import { BackendClock } from './registry-clock';
import type {
  Announcement,
  AnnouncementHandle,
  DeadInstance,
  HeartbeatOptions,
  Registry,
  WorkerInfo,
  WorkerKind,
} from './types';

/** Every kind, for the reaper to sweep. */
export const WORKER_KINDS: readonly WorkerKind[] = ['gateway', 'terminal', 'ai', 'message'];

/**
 * Storage under a {@link Registry}: Redis in distributed mode, a map in embedded mode.
 * Time is the backend's own clock, so processes with skewed clocks agree.
 */
export interface RegistryBackend {
  /**
   * Records a heartbeat of `info`, stamped with the backend's time. Says whether it was
   * registered already (`present`), had been reaped (`reaped`: remembered for an hour),
   * or was simply not there (`absent`).
   */
  beat(info: WorkerInfo, ttlMs: number): Promise<'present' | 'reaped' | 'absent'>;
  /** Removes an instance that is leaving on purpose. */
  remove(id: string, kind: WorkerKind): Promise<void>;
  /** Instances of `kind` whose last beat is newer than `deadlineMs` ago. */
  list(kind: WorkerKind, deadlineMs: number): Promise<WorkerInfo[]>;
  /**
   * Atomically removes and returns every instance whose last beat is older than
   * `deadlineMs`, with the backend's clock at that moment (`at`, ms): of several
   * concurrent callers, exactly one gets each dead instance.
   *
   * Reaps nothing when the registry has not been swept for longer than `gapMs` (one beat
   * interval, while every live process sweeps twice in one: the backend was down or
   * paused, or every reaper was blocked, and beats were blocked with them), nor for
   * `graceMs` after such a gap, so every live instance has time to reconnect and beat
   * again. A gap shorter than the deadline counts too: an instance that beat just before
   * it is older than the deadline at the first sweep after a gap of deadline − interval.
   */
  reap(
    deadlineMs: number,
    gapMs: number,
    graceMs: number,
  ): Promise<{ at: number; dead: Array<{ id: string; kind: WorkerKind }> }>;
  /** Tells every registry in the cluster that an instance died. */
  publishDeath(dead: DeathNotice): Promise<void>;
  /** Hears every published death. */
  subscribeDeaths(listener: (dead: DeathNotice) => void): Promise<() => void>;
  dispose(): Promise<void>;
}

/** A death as the backend carries it to every registry. */
export interface DeathNotice {
  id: string;
  kind: WorkerKind;
  /** The backend's clock when it was reaped (ms); absent when an older version announced it. */
  declaredAt?: number;
}

/** Hooks to observe the registry (logs, metrics). */
export interface RegistryObserver {
  /** The backend failed or stopped answering; once per outage. */
  onBackendError?(operation: string, error: unknown): void;
  /** The backend answers again after {@link onBackendError}. */
  onBackendRecovered?(): void;
}

/**
 * After a gap in sweeping (an outage), how long beyond one deadline and one beat the
 * reaper waits before it reaps again (ms): a process reconnects to Redis within its
 * backoff cap (1 s) and then beats; this leaves it twice that.
 */
const RECONNECT_GRACE_MS = 2000;

/** An instance whose last beat is older than this many intervals has missed one: placement avoids it. */
const ON_TIME_BEATS = 2;

/** The instance with the most room left in proportion to its capacity, if any has room. */
function leastLoaded(workers: readonly WorkerInfo[]): WorkerInfo | undefined {
  let best: WorkerInfo | undefined;
  for (const worker of workers) {
    if (worker.load >= worker.capacity) continue;
    if (!best || worker.load / worker.capacity < best.load / best.capacity) best = worker;
  }
  return best;
}

/**
 * Heartbeats, liveness and least-loaded placement over a {@link RegistryBackend}.
 * Every instance also runs the reaper: each death is claimed by one reaper and then
 * published to all, so `onDeath` listeners everywhere hear of it exactly once.
 */
export class HeartbeatRegistry implements Registry {
  private readonly listeners = new Set<(dead: DeadInstance) => void>();
  /** Where the backend's clock stands on ours, from the sweeps' answers: for {@link DeadInstance.declaredAt}. */
  private readonly clock: BackendClock;
  private readonly beating = new Set<NodeJS.Timeout>();
  private readonly reaper: NodeJS.Timeout;
  /** Stops hearing deaths; set once the subscription is confirmed. */
  private unsubscribe: (() => void) | undefined;
  private backendHealthy = true;
  private disposed = false;
  /** Backend calls without an answer yet. */
  private unanswered = 0;
  /** When the backend last answered (performance.now() ms). */
  private lastAnswerAt = performance.now();

  constructor(
    private readonly backend: RegistryBackend,
    private readonly options: HeartbeatOptions,
    private readonly observer: RegistryObserver = {},
  ) {
    this.clock = new BackendClock(this.deadlineMs);
    backend
      .subscribeDeaths(({ id, kind, declaredAt }) => {
        const dead: DeadInstance = { id, kind, declaredAt: this.clock.latestLocal(declaredAt, performance.now()) };
        for (const listener of this.listeners) listener(dead);
      })
      .then(
        (unsubscribe) => {
          if (this.disposed) unsubscribe();
          else this.unsubscribe = unsubscribe;
        },
        (error: unknown) => this.markUnhealthy('subscribeDeaths', error),
      );
    // Sweeping twice per interval bounds detection at deadline + interval/2.
    this.reaper = setInterval(() => void this.reap(), Math.max(1, options.intervalMs / 2));
    this.reaper.unref();
  }

  /**
   * False while the backend fails, and while calls to it have gone unanswered for longer
   * than the death deadline (Redis paused, or a half-open connection: nothing errors, it
   * just never answers).
   */
  get healthy(): boolean {
    this.checkStalled();
    return this.backendHealthy;
  }

  private get deadlineMs(): number {
    return this.options.intervalMs * this.options.missedBeats;
  }

  announce(self: Announcement): AnnouncementHandle {
    let stopped = false;
    const info = (): WorkerInfo => ({ id: self.id, kind: self.kind, capacity: self.capacity, load: self.load() });
    // The hash outlives a beat by the whole deadline so a slow beat never loses it.
    let registered = false;
    const beat = async (): Promise<void> => {
      const found = await this.guard('beat', () => this.backend.beat(info(), this.deadlineMs * 2));
      if (found === undefined || stopped) return;
      if (found !== 'present' && registered) self.onRejoined?.(found === 'reaped' ? 'declared-dead' : 'forgotten');
      registered = true;
    };
    void beat();
    const timer = setInterval(() => {
      this.checkStalled();
      void beat();
    }, this.options.intervalMs);
    timer.unref();
    this.beating.add(timer);
    return {
      touch: () => {
        if (!stopped) void beat();
      },
      dispose: async () => {
        if (stopped) return;
        stopped = true;
        clearInterval(timer);
        this.beating.delete(timer);
        // At most the death deadline: a Redis that does not answer (paused) would hold the
        // drain for ever, and past the deadline the cluster declares this instance dead anyway.
        const removal = this.guard('remove', () => this.backend.remove(self.id, self.kind));
        await pendingAfter(new Map([['remove', removal]]), this.deadlineMs);
      },
    };
  }

  async live(kind: WorkerKind): Promise<WorkerInfo[]> {
    // During a known outage, answer now: a paused Redis would hold the caller until it resumes.
    const list = this.healthy ? await this.guard('list', () => this.backend.list(kind, this.deadlineMs)) : undefined;
    if (!list) throw new ServiceError('UNAVAILABLE', 'The service registry cannot be reached; try again shortly.');
    return list;
  }

  async pick(kind: WorkerKind): Promise<WorkerInfo> {
    const live = await this.live(kind);
    if (live.length === 0) {
      throw new ServiceError('UNAVAILABLE', `No ${kind} worker is running; try again shortly.`);
    }
    // An instance that has missed a beat may have died and not be declared dead yet: work
    // placed on it would wait for a TIMEOUT. Prefer those that beat on time.
    const onTime = live.filter((w) => (w.ageMs ?? 0) <= this.options.intervalMs * ON_TIME_BEATS);
    const best = leastLoaded(onTime) ?? leastLoaded(live);
    if (!best) throw new ServiceError('UNAVAILABLE', `Every ${kind} worker is at capacity; try again later.`);
    return best;
  }

  onDeath(listener: (dead: DeadInstance) => void): () => void {
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
    this.unsubscribe?.();
  }

  private async reap(): Promise<void> {
    if (this.disposed) return;
    const graceMs = this.deadlineMs + this.options.intervalMs + RECONNECT_GRACE_MS;
    const swept = await this.guard('reap', () => this.backend.reap(this.deadlineMs, this.options.intervalMs, graceMs));
    if (!swept) return;
    this.clock.sample(swept.at, performance.now());
    for (const instance of swept.dead) {
      await this.guard('publishDeath', () => this.backend.publishDeath({ ...instance, declaredAt: swept.at }));
    }
  }

  /** Runs a backend operation; failures flip `healthy` and are reported once per outage. */
  private async guard<T>(operation: string, run: () => Promise<T>): Promise<T | undefined> {
    this.unanswered++;
    try {
      const result = await run();
      this.answered();
      this.markHealthy();
      return result;
    } catch (error) {
      this.answered();
      this.markUnhealthy(operation, error);
      return undefined;
    }
  }

  private answered(): void {
    this.unanswered--;
    this.lastAnswerAt = performance.now();
  }

  /** Calls waiting longer than the deadline with no answer at all: the backend is stalled. */
  private checkStalled(): void {
    if (!this.backendHealthy || this.unanswered === 0) return;
    const silentMs = performance.now() - this.lastAnswerAt;
    if (silentMs <= this.deadlineMs) return;
    this.markUnhealthy('stalled', new Error(`no answer from the registry's backend for ${Math.round(silentMs)} ms`));
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
