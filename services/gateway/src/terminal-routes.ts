import { rooms, ServiceError, type TerminalBusMessage, type TerminalBusReplies } from '@ctos/protocol';
import { busClient, SessionDirectory, type SessionRecord } from '@ctos/transport';
import { bindEvent } from './bind-event';
import { TokenBucket } from '@ctos/runtime';
import type { GatewaySocket, RouteContext, RouteModule } from './types';

/** Directory entries kept in memory; session → worker never changes, so they never go stale silently. */
const DIRECTORY_CACHE_ENTRIES = 50_000;
/**
 * How long the claim on reaping a dead worker lasts (ms): long enough that the other
 * gateways, hearing the same death at the same moment, find it taken; short enough that
 * the same worker id dying again (after a false death and a rejoin) is reaped again.
 */
const REAP_CLAIM_TTL_MS = 60 * 1000;

/**
 * The terminal events: validates, checks ownership against the session directory and
 * routes to the owning terminal-worker. Attach and create follow one order — the worker
 * holds output, the gateway acknowledges and joins the room, then releases — so a
 * client sees each byte once, in order, even while output is running.
 */
export function terminalRoutes(context: RouteContext): RouteModule {
  const { transport, gatewayId, config } = context;
  const bus = busClient<TerminalBusMessage, TerminalBusReplies>(transport.bus);
  const directory = new SessionDirectory(transport.store, 'term');
  const cache = new Map<string, SessionRecord>();
  const timeoutMs = config.BUS_REQUEST_TIMEOUT_MS;

  const remember = (record: SessionRecord): void => {
    if (cache.size >= DIRECTORY_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
    cache.set(record.session_id, record);
  };

  /** The session's record if it is the user's; `NOT_FOUND` for anyone else's or a made-up id. */
  const owned = async (sessionId: string, user: string): Promise<SessionRecord> => {
    let record = cache.get(sessionId);
    if (!record) {
      record = (await directory.lookup(sessionId)) ?? undefined;
      if (record) remember(record);
    }
    if (!record || record.user !== user) throw new ServiceError('NOT_FOUND', 'No such terminal session.');
    return record;
  };

  const send = (worker: string, message: TerminalBusMessage): Promise<void> => bus.send(worker, message, { timeoutMs });
  const request = <O extends TerminalBusMessage['op']>(
    worker: string,
    message: Extract<TerminalBusMessage, { op: O }>,
  ) => bus.request({ worker }, message, { timeoutMs });

  /** A worker answered NOT_FOUND: forget the cached entry (the session has ended). */
  const forgetOnNotFound = (sessionId: string) => (error: unknown) => {
    if (error instanceof ServiceError && error.code === 'NOT_FOUND') cache.delete(sessionId);
    throw error;
  };

  /** Attaches `socket` and returns the replay; the caller acknowledges, then calls `release`. */
  const attach = async (socket: GatewaySocket, sessionId: string, since: number | undefined, flowControl: boolean) => {
    const record = await owned(sessionId, socket.data.user);
    const reply = await request(record.worker, {
      op: 'attach',
      session_id: sessionId,
      user: socket.data.user,
      socket: socket.id,
      gateway: gatewayId,
      flow_control: flowControl,
      ...(since === undefined ? {} : { since }),
    }).catch(forgetOnNotFound(sessionId));
    const release = (): void =>
      void send(record.worker, { op: 'release', session_id: sessionId, socket: socket.id }).catch(() => undefined);
    if (!socket.connected) {
      // Gone while we waited (P09): never join a room for a dead socket.
      release();
      void send(record.worker, { op: 'detach', session_id: sessionId, socket: socket.id }).catch(() => undefined);
      throw new ServiceError('UNAVAILABLE', 'The connection closed during attach.');
    }
    void socket.join(rooms.terminal(sessionId));
    socket.data.terminals.add(sessionId);
    return { reply, release };
  };

  const stopReaping = transport.registry.onDeath((dead) => {
    if (dead.kind !== 'terminal') return;
    for (const [sessionId, record] of cache) if (record.worker === dead.id) cache.delete(sessionId);
    void (async () => {
      const claimed = await transport.store.set(`term:reaped:${dead.id}`, gatewayId, {
        nx: true,
        ttlMs: REAP_CLAIM_TTL_MS,
      });
      if (!claimed) return;
      const records = await directory.removeWorker(dead.id);
      for (const record of records) {
        await transport.emitter.emit(rooms.terminal(record.session_id), 'terminal:closed', {
          session_id: record.session_id,
          reason: 'worker_lost',
        });
      }
      context.logger.warn(
        { worker: dead.id, sessions: records.length },
        'terminal worker lost; its sessions are closed',
      );
    })().catch((error: unknown) =>
      context.logger.error({ err: error, worker: dead.id }, 'reaping a terminal worker failed'),
    );
  });

  return {
    connect(socket) {
      const user = socket.data.user;
      const inputBudget = new TokenBucket(config.TERMINAL_INPUT_BYTES_PER_SECOND, config.TERMINAL_INPUT_BURST_BYTES);

      bindEvent(socket, context, 'terminal:create', async (payload) => {
        const created = await bus.request(
          { kind: 'terminal' },
          {
            op: 'create',
            user,
            cols: payload.cols,
            rows: payload.rows,
            socket: socket.id,
            gateway: gatewayId,
            flow_control: payload.flow_control ?? false,
          },
          { timeoutMs },
        );
        const record: SessionRecord = { ...created, user };
        remember(record);
        const release = (): void =>
          void send(record.worker, { op: 'release', session_id: created.session_id, socket: socket.id }).catch(
            () => undefined,
          );
        if (!socket.connected) {
          release();
          void send(record.worker, { op: 'detach', session_id: created.session_id, socket: socket.id }).catch(
            () => undefined,
          );
          return {};
        }
        void socket.join(rooms.terminal(created.session_id));
        socket.data.terminals.add(created.session_id);
        return { data: { session_id: created.session_id, created_at: created.created_at }, after: release };
      });

      bindEvent(socket, context, 'terminal:attach', async (payload) => {
        const { reply, release } = await attach(
          socket,
          payload.session_id,
          payload.since,
          payload.flow_control ?? true,
        );
        return { data: reply, after: release };
      });

      bindEvent(socket, context, 'terminal:reconnect', async (payload) => {
        const { reply, release } = await attach(socket, payload.session_id, undefined, false);
        return {
          data: { session_id: reply.session_id, created_at: reply.created_at },
          after: () => {
            // The original client reads output events only: the screen comes as one.
            if (reply.data.length > 0) {
              socket.emit('terminal:output', { session_id: reply.session_id, data: reply.data, seq: reply.seq });
            }
            release();
          },
        };
      });

      bindEvent(socket, context, 'terminal:input', async (payload) => {
        const bytes = Buffer.byteLength(payload.data, 'utf8');
        if (bytes > config.TERMINAL_MAX_INPUT_BYTES) {
          throw new ServiceError(
            'LIMIT_EXCEEDED',
            `Input is larger than ${config.TERMINAL_MAX_INPUT_BYTES} bytes; send it in smaller pieces.`,
          );
        }
        if (!inputBudget.take(bytes)) {
          throw new ServiceError('RATE_LIMITED', 'Input is arriving faster than the terminal accepts; slow down.');
        }
        const record = await owned(payload.session_id, user);
        await send(record.worker, { op: 'input', session_id: payload.session_id, data: payload.data });
      });

      bindEvent(socket, context, 'terminal:resize', async (payload) => {
        const record = await owned(payload.session_id, user);
        await send(record.worker, {
          op: 'resize',
          session_id: payload.session_id,
          cols: payload.cols,
          rows: payload.rows,
        });
      });

      bindEvent(socket, context, 'terminal:ack', async (payload) => {
        if (!socket.data.terminals.has(payload.session_id)) {
          throw new ServiceError('NOT_FOUND', 'This socket is not attached to that terminal session.');
        }
        const record = await owned(payload.session_id, user);
        await send(record.worker, { op: 'ack', session_id: payload.session_id, socket: socket.id, seq: payload.seq });
      });

      bindEvent(socket, context, 'terminal:close', async (payload) => {
        const record = await owned(payload.session_id, user);
        await request(record.worker, { op: 'close', session_id: payload.session_id, user }).catch(
          forgetOnNotFound(payload.session_id),
        );
        cache.delete(payload.session_id);
        socket.data.terminals.delete(payload.session_id);
        void socket.leave(rooms.terminal(payload.session_id));
      });

      bindEvent(socket, context, 'terminal:list', async () => {
        const ids = await directory.forUser(user);
        const byWorker = new Map<string, string[]>();
        for (const sessionId of ids) {
          const record = await owned(sessionId, user).catch(() => undefined);
          if (!record) continue;
          byWorker.set(record.worker, [...(byWorker.get(record.worker) ?? []), sessionId]);
        }
        const answers = await Promise.all(
          [...byWorker].map(([worker, sessionIds]) =>
            // A worker that does not answer is lost or overloaded: its sessions are left out, not the list.
            request(worker, { op: 'info', session_ids: sessionIds, user }).catch(() => []),
          ),
        );
        const sessions = answers.flat().sort((a, b) => a.created_at.localeCompare(b.created_at));
        return { data: { sessions } };
      });
    },

    disconnect(socket) {
      for (const sessionId of socket.data.terminals) {
        // A detach that never arrives would keep the session attached (no idle timeout)
        // and hold its flow control: look the worker up even if the cache dropped it.
        void owned(sessionId, socket.data.user)
          .then((record) => send(record.worker, { op: 'detach', session_id: sessionId, socket: socket.id }))
          .catch(() => undefined); // the session or its worker is gone: nothing is attached any more
      }
      socket.data.terminals.clear();
    },

    dispose() {
      stopReaping();
    },
  };
}
