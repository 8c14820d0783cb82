import { DisposableStore } from '@ctos/protocol';
import { bindAiEvents } from './ai-events';
import { aiLink } from './ai-link';
import { reapAiWorkers } from './ai-reaper';
import type { RouteContext, RouteModule } from './types';

/**
 * The AI events: `ai:message`, `ai:cancel`, `ai:resume`, `ai:conversations` and
 * `ai:history`, validated here and answered by the ai-workers over the bus, always for
 * the socket's own user (another user's conversation is `NOT_FOUND` for every event).
 *
 * A socket joins the conversation's room (`rooms.ai`) when it sends a message, reads
 * the history, or resumes — only while connected (P09). Message and resume follow the
 * terminal's order: the worker holds the reply's room events, the gateway sends what
 * the socket missed and joins the room, acknowledges, then releases, so each chunk
 * reaches the socket once, in order, through any gateway.
 *
 * When an ai-worker dies, one gateway (the one that claims it in the store) marks its
 * replies interrupted and tells their rooms with a retryable `ai:error`.
 *
 * Errors: `INVALID_PAYLOAD`, `NOT_FOUND`, the worker's refusals (`RATE_LIMITED`,
 * `LIMIT_EXCEEDED`, `UNAVAILABLE`), and the bus's `UNAVAILABLE` (no ai-worker running)
 * and `TIMEOUT`.
 */
export function aiRoutes(context: RouteContext): RouteModule {
  const link = aiLink(context);
  const owned = new DisposableStore();
  owned.add(reapAiWorkers(link));

  return {
    connect: (socket, owner) => bindAiEvents(link, socket, owner),
    dispose: () => owned.dispose(),
  };
}
