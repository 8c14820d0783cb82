import { ServiceError } from '@ctos/protocol';
import type { KeyValueStore } from '@ctos/transport';

/** What a user may answer to a tool call (`ai:tool:decide`). */
export type ToolDecision = 'allow' | 'deny' | 'allow_for_conversation';
/** How the wait for a decision ended. */
export type ApprovalOutcome = 'allowed' | 'denied' | 'timed_out';

/** One tool call waiting for its user's decision, as `ai:tool:request` shows it. */
export interface ApprovalRequest {
  user: string;
  conversation_id: string;
  message_id: string;
  tool_use_id: string;
  name: string;
  input: unknown;
}

/** Where a pending call waits, for the gateways: `{user, worker}` (JSON) under {@link pendingKey}. */
export interface PendingCallRecord {
  user: string;
  worker: string;
}

/** The store key of pending call `toolUseId` (namespace `ai`). */
export function pendingKey(toolUseId: string): string {
  return `ai:tool:${encodeURIComponent(toolUseId)}`;
}

/** The store key of the tools allowed for a whole conversation: a set of tool names. */
function allowedKey(conversationId: string): string {
  return `ai:allow:${encodeURIComponent(conversationId)}`;
}

/** How long an `allow_for_conversation` holds after the conversation's last such decision (ms): a day. */
const ALLOWED_FOR_CONVERSATION_MS = 24 * 3600 * 1000;

interface Waiting {
  request: ApprovalRequest;
  settle(outcome: ApprovalOutcome): void;
}

/**
 * The tool calls of one ai-worker's replies waiting for their user's decision (issue 18),
 * enforced here, on the server: a call runs only after `allow` (or `allow_for_conversation`,
 * which also allows later calls of the same tool in the same conversation) from the user
 * the reply is for; `deny`, or no decision within `timeoutMs` (ms), means it does not run.
 * Each pending call is also written to the store (with the same lifetime), so that any
 * gateway can route a decision here and refuse it for any other user; the tools allowed
 * for a conversation are kept there too (a day), so every worker honours them.
 */
export class ToolApprovals {
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly store: KeyValueStore,
    private readonly workerId: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Waits for the decision on `request`: `allowed` at once when the user allowed this tool
   * for the conversation, else when they allow it; `denied`; `timed_out` after the timeout
   * or when `signal` aborts (the reply was cancelled).
   */
  async decision(request: ApprovalRequest, signal?: AbortSignal): Promise<ApprovalOutcome> {
    if ((await this.store.smembers(allowedKey(request.conversation_id))).includes(request.name)) return 'allowed';
    const record: PendingCallRecord = { user: request.user, worker: this.workerId };
    await this.store.set(pendingKey(request.tool_use_id), JSON.stringify(record), { ttlMs: this.timeoutMs });
    try {
      return await new Promise<ApprovalOutcome>((resolve) => {
        const timer = setTimeout(() => settle('timed_out'), this.timeoutMs);
        const onAbort = (): void => settle('timed_out');
        const settle = (outcome: ApprovalOutcome): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.waiting.delete(request.tool_use_id);
          resolve(outcome);
        };
        if (signal?.aborted) return settle('timed_out');
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.set(request.tool_use_id, { request, settle });
      });
    } finally {
      await this.store.del(pendingKey(request.tool_use_id)).catch(() => undefined);
    }
  }

  /**
   * `user` decided on call `toolUseId`; resolves once the decision is taken (and, for
   * `allow_for_conversation`, kept).
   * @throws ServiceError `NOT_FOUND` when no call of that user waits here under that id
   * (another user's call included: whether it exists is not told).
   */
  async decide(user: string, toolUseId: string, decision: ToolDecision): Promise<void> {
    const waiting = this.waiting.get(toolUseId);
    if (!waiting || waiting.request.user !== user) throw new ServiceError('NOT_FOUND', 'No such tool call waiting.');
    if (decision === 'allow_for_conversation') {
      const key = allowedKey(waiting.request.conversation_id);
      await this.store.sadd(key, waiting.request.name);
      await this.store.expire(key, ALLOWED_FOR_CONVERSATION_MS);
    }
    waiting.settle(decision === 'deny' ? 'denied' : 'allowed');
  }

  /** The calls of `conversationId` waiting now (shown again after a reload, `ai:resume`). */
  pending(conversationId: string): ApprovalRequest[] {
    return [...this.waiting.values()]
      .map((waiting) => waiting.request)
      .filter((request) => request.conversation_id === conversationId);
  }

  /** Every wait ends as `timed_out` (the worker is stopping: nothing it waited for runs). */
  dispose(): void {
    for (const waiting of [...this.waiting.values()]) waiting.settle('timed_out');
  }
}
