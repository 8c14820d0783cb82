import { DisposableStore } from '@ctos/protocol';
import { detachAll } from './terminal-attach';
import { terminalLink } from './terminal-link';
import { reapTerminalWorkers } from './terminal-reaper';
import { bindSessionEvents } from './terminal-session-events';
import { bindStreamEvents } from './terminal-stream-events';
import type { RouteContext, RouteModule } from './types';

/**
 * The terminal events: validates, checks ownership against the session directory and
 * routes to the owning terminal-worker. Attach and create follow one order — the worker
 * holds output, the gateway acknowledges and joins the room, then releases — so a
 * client sees each byte once, in order, even while output is running.
 *
 * A socket that disconnects is detached from every session it was attached to; when a
 * terminal-worker dies, its sessions' rooms are told `terminal:closed` (`worker_lost`).
 *
 * Errors: `INVALID_PAYLOAD`, `NOT_FOUND` (another user's session, or an ended one),
 * `LIMIT_EXCEEDED` and `RATE_LIMITED` (input), the worker's refusals, and the bus's
 * `UNAVAILABLE` and `TIMEOUT`.
 */
export function terminalRoutes(context: RouteContext): RouteModule {
  const link = terminalLink(context);
  const owned = new DisposableStore();
  owned.add(reapTerminalWorkers(link));

  return {
    connect(socket, owner) {
      owner.defer(() => detachAll(link, socket));
      bindSessionEvents(link, socket, owner);
      bindStreamEvents(link, socket, owner);
    },
    dispose: () => owned.dispose(),
  };
}
