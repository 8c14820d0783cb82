import type { ServerEventName, ServerToClientEvents } from '@ctos/protocol';

/** The kinds of process that take part in the cluster. */
export type WorkerKind = 'gateway' | 'terminal' | 'ai' | 'message';

/** A live instance as the registry sees it. `load` and `capacity` are in the kind's own unit (sessions, streams). */
export interface WorkerInfo {
  id: string;
  kind: WorkerKind;
  load: number;
  capacity: number;
  /** Time since its last beat (ms), when the registry knows it. */
  ageMs?: number;
}

/** What an instance announces about itself. */
export interface Announcement {
  id: string;
  kind: WorkerKind;
  capacity: number;
  /** Read at each heartbeat. */
  load: () => number;
  /**
   * Called when a beat finds this instance gone from the registry although it had beaten
   * before; that beat registers it again, and what it owns must be reconciled with what
   * the cluster now believes. `declared-dead`: it stopped beating for longer than the
   * deadline (its event loop blocked, or it was cut off from Redis), was reaped, and the
   * cluster has reported what it owned as lost. `forgotten`: the registry lost it without
   * a death (Redis came back without its data).
   */
  onRejoined?: (reason: 'declared-dead' | 'forgotten') => void;
}

/** An instance the registry declared dead, as {@link Registry.onDeath} listeners hear it. */
export interface DeadInstance {
  id: string;
  kind: WorkerKind;
  /**
   * When it was declared dead, on this process's `performance.now()` clock, rounded late:
   * never before the declaration, so whatever this process did after this moment came
   * after it, however late the announcement arrived. (A gateway declared dead while
   * alive has its clients attach again: attachments made after this moment are theirs.)
   */
  declaredAt: number;
}

/** The handle of an {@link Registry.announce} call. */
export interface AnnouncementHandle {
  touch(): void;
  /** Stops beating and deregisters; settles within the death deadline even when the backend does not answer. */
  dispose(): Promise<void>;
}

/** Heartbeat timing: an instance is dead after `missedBeats` × `intervalMs` without a beat. */
export interface HeartbeatOptions {
  /** Default 1000 ms. */
  intervalMs: number;
  /** Default 3. */
  missedBeats: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 1000, missedBeats: 3 };

/**
 * The worker registry: instances heartbeat their load; one that stops is declared dead
 * and every registry instance in the cluster hears of it once.
 */
export interface Registry {
  /**
   * Start heartbeating as `self` until the returned handle is disposed (which
   * deregisters). `touch()` beats at once, so a load change is seen before the next beat.
   */
  announce(self: Announcement): AnnouncementHandle;
  /** Live instances of a kind, freshest data first. */
  live(kind: WorkerKind): Promise<WorkerInfo[]>;
  /**
   * The least-loaded live instance of a kind with room left. Rejects with
   * `ServiceError('UNAVAILABLE')` when none is alive or all are full.
   */
  pick(kind: WorkerKind): Promise<WorkerInfo>;
  /** Called once per dead instance, on every registry in the cluster. */
  onDeath(listener: (dead: DeadInstance) => void): () => void;
  /** True while the registry can reach its backend. */
  readonly healthy: boolean;
  dispose(): Promise<void>;
}

/** Where a request goes: any live worker of a kind (least loaded), or one worker. */
export type RequestTarget = { kind: WorkerKind } | { worker: string };

/** Options of {@link Bus.request}. */
export interface RequestOptions {
  /** Reject with `TIMEOUT` after this long (ms). Default {@link DEFAULT_REQUEST_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** A request's wait for its reply, by default (ms). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

/**
 * Handles the messages of a worker's inbox, in the order they were sent. The return
 * value of a request is its reply; a thrown `ServiceError` is a refusal with its code;
 * anything else thrown becomes `INTERNAL`. Sends ignore the return value.
 */
export type InboxHandler = (body: unknown, kind: 'request' | 'send') => unknown;

/**
 * Gateway ↔ worker messaging. A request goes to one live worker and waits for its reply;
 * a send goes to the one worker that owns a session, in order, and is kept in the
 * worker's inbox until it reads it.
 */
export interface Bus {
  /** This endpoint's id: its inbox and its reply address. */
  readonly id: string;
  /** Rejects with `ServiceError` codes `TIMEOUT`, `UNAVAILABLE`, or the worker's refusal. */
  request<T = unknown>(target: RequestTarget, body: unknown, options?: RequestOptions): Promise<T>;
  /**
   * Appends `body` to `worker`'s inbox. Rejects with `UNAVAILABLE` when the transport is
   * known to be down (nothing was written), or `TIMEOUT` when the append is not confirmed
   * — within `timeoutMs` (default {@link DEFAULT_REQUEST_TIMEOUT_MS}: Redis stopped
   * answering, and the message may still be appended when it resumes), or because the
   * connection dropped after writing it: outcome unknown, it arrives once or not at all.
   */
  send(worker: string, body: unknown, options?: RequestOptions): Promise<void>;
  /** Starts reading this endpoint's inbox. One handler per endpoint. */
  serve(handler: InboxHandler): void;
  dispose(): Promise<void>;
}

/** The payload type of a server→client event. */
export type ServerPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];

/**
 * Emits Socket.IO events into rooms from any process; every gateway holding a socket in
 * the room delivers it. The returned promise settles when the event is handed to the
 * transport (a Redis PUBLISH answered) and never rejects: it resolves `false` when the
 * event could not be handed over (Redis unreachable; logged and counted), so a caller
 * that keeps an ordered stream (terminal output, reply chunks) can send it again, and
 * `true` (or nothing, for emitters that cannot fail) when it was.
 */
export interface RoomEmitter {
  emit<E extends ServerEventName>(
    room: string | string[],
    event: E,
    payload: ServerPayload<E>,
  ): Promise<boolean | void>;
  /**
   * Emits each of `emits`, in order, as {@link emit} would, and answers each one's
   * outcome in the same order; the Redis build sends them all in one write (a pipeline),
   * where one emit each costs a write (a system call) each. Optional: call it through
   * {@link emitAll}, which falls back to one {@link emit} each.
   */
  emitMany?(emits: readonly RoomEmit[]): Promise<Array<boolean | void>>;
  /**
   * How a store script of the same transport emits into rooms in the same atomic step as
   * its writes (`StoreCommands.publish`), so that nothing of anyone else's comes between
   * a change and its event. Such an emit is handed over when the script's answer
   * arrives. Optional: an emitter that no store can reach (a test's recorder) has none.
   */
  wire?(): RoomWire;
}

/**
 * How a store script publishes an emit of `[event, payload]` into `room` (see
 * {@link RoomEmitter.wire}): on the channel `channel[0] + room + channel[1]`, the message
 * `head[0] + JSON.stringify(room) + head[1] + JSON.stringify([event, payload]) + tail`.
 * The same for every room, so a script is given it once and each room's name.
 */
export interface RoomWire {
  channel: readonly [string, string];
  head: readonly [string, string];
  tail: string;
}

/** One emit of {@link RoomEmitter.emitMany}. */
export type RoomEmit = {
  [E in ServerEventName]: { room: string | string[]; event: E; payload: ServerPayload<E> };
}[ServerEventName];

/**
 * Emits each of `emits` through `emitter`, in order: in one go when it can
 * ({@link RoomEmitter.emitMany}), else one {@link RoomEmitter.emit} each, all started at
 * once. Answers each one's outcome in order; never rejects for an emitter that keeps the
 * interface's promise.
 */
export function emitAll(emitter: RoomEmitter, emits: readonly RoomEmit[]): Promise<Array<boolean | void>> {
  if (emitter.emitMany) return emitter.emitMany(emits);
  return Promise.all(
    emits.map(({ room, event, payload }) => emitter.emit(room, event, payload as ServerPayload<typeof event>)),
  );
}
