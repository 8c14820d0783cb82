import type { BusBackend, Envelope, ReplyEnvelope } from '../bus';
import type { RegistryBackend } from '../registry';
import type { WorkerInfo, WorkerKind } from '../types';

interface Endpoint {
  queue: Envelope[];
  consumer?: (envelope: Envelope) => void;
  onReply?: (reply: ReplyEnvelope) => void;
  draining: boolean;
}

/**
 * The in-process stand-in for Redis that embedded mode runs on: inboxes, reply
 * addresses, the registry table and death announcements, shared by every bus and
 * registry made from the same network.
 */
export class MemoryNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly workers = new Map<string, { info: WorkerInfo; beatAt: number }>();
  private readonly deathListeners = new Set<(dead: { id: string; kind: WorkerKind }) => void>();
  /** When the registry was last swept, and before when nothing is reaped (see `RegistryBackend.reap`). */
  private sweep: { at: number; grace: number } | undefined;
  /** Instances reaped and not heard from since (so one that was alive learns it). */
  private readonly reaped = new Set<string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A bus backend for endpoint `id`. */
  busBackend(id: string): BusBackend {
    const endpoint: Endpoint = { queue: [], draining: false };
    this.endpoints.set(id, endpoint);
    return {
      deliver: async (worker, envelope) => this.deliver(worker, envelope),
      reply: async (requester, reply) => {
        const target = this.endpoints.get(requester);
        // Replies cross an async boundary, as they do over Redis.
        if (target?.onReply) queueMicrotask(() => target.onReply?.(reply));
      },
      listenReplies: async (onReply) => {
        endpoint.onReply = onReply;
      },
      consume: (onEnvelope) => {
        endpoint.consumer = onEnvelope;
        this.drainSoon(endpoint);
      },
      dispose: async () => {
        this.endpoints.delete(id);
        endpoint.queue.length = 0;
        endpoint.consumer = undefined;
        endpoint.onReply = undefined;
      },
    };
  }

  /** The registry backend; every registry of this network shares one table. */
  registryBackend(): RegistryBackend {
    return {
      beat: async (info) => {
        const found = this.workers.has(info.id) ? 'present' : this.reaped.delete(info.id) ? 'reaped' : 'absent';
        this.workers.set(info.id, { info, beatAt: this.now() });
        return found;
      },
      remove: async (id) => {
        this.workers.delete(id);
      },
      list: async (kind, deadlineMs) => {
        const now = this.now();
        return [...this.workers.values()]
          .filter((w) => w.info.kind === kind && w.beatAt > now - deadlineMs)
          .map((w) => ({ ...w.info, ageMs: now - w.beatAt }));
      },
      reap: async (deadlineMs, gapMs, graceMs) => {
        const now = this.now();
        // A gap in sweeping here means the one process was blocked: every beat is old
        // because nobody could beat, not because anybody died.
        const sweep = this.sweep ?? { at: now, grace: 0 };
        if (now - sweep.at > gapMs) sweep.grace = now + graceMs;
        sweep.at = now;
        this.sweep = sweep;
        if (now < sweep.grace) return { at: now, dead: [] };
        const cutoff = now - deadlineMs;
        const dead: Array<{ id: string; kind: WorkerKind }> = [];
        for (const [id, w] of this.workers) {
          if (w.beatAt > cutoff) continue;
          // The inbox stays: a process that was only slow (a blocked event loop) beats
          // again and must still be reachable; a really dead one disposed its endpoint.
          this.workers.delete(id);
          this.reaped.add(id);
          dead.push({ id, kind: w.info.kind });
        }
        return { at: now, dead };
      },
      publishDeath: async (dead) => {
        for (const listener of this.deathListeners) queueMicrotask(() => listener(dead));
      },
      subscribeDeaths: async (listener) => {
        this.deathListeners.add(listener);
        return () => this.deathListeners.delete(listener);
      },
      dispose: async () => undefined,
    };
  }

  private deliver(worker: string, envelope: Envelope): void {
    const endpoint = this.endpoints.get(worker);
    // An unknown inbox belongs to a dead worker: the message is dropped like a stream
    // that expired; a request to it times out.
    if (!endpoint) return;
    endpoint.queue.push(envelope);
    this.drainSoon(endpoint);
  }

  private drainSoon(endpoint: Endpoint): void {
    if (endpoint.draining || !endpoint.consumer) return;
    endpoint.draining = true;
    queueMicrotask(() => {
      endpoint.draining = false;
      const batch = endpoint.queue.splice(0);
      for (const envelope of batch) endpoint.consumer?.(envelope);
    });
  }
}
