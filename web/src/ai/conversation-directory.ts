import type { AiConversationInfo } from '@ctos/protocol';

/**
 * The user's conversations as the sidebar lists them, newest first: the server's list
 * (`ai:conversations`), plus one begun here whose first message has not reached the
 * server yet, and which of them has a reply being written. State only: the conversation
 * stream fills it and tells its view when it changed.
 */
export class ConversationDirectory {
  private entries: AiConversationInfo[] = [];

  /** Every conversation, newest first. */
  get all(): readonly AiConversationInfo[] {
    return this.entries;
  }

  /** The entry of conversation `id`, if listed. */
  find(id: string): AiConversationInfo | undefined {
    return this.entries.find((candidate) => candidate.conversation_id === id);
  }

  /** Takes the server's list; conversation `keepId`, begun here and not on it yet, stays on top. */
  replace(remote: AiConversationInfo[], keepId: string | undefined): void {
    const local = this.entries.filter(
      (info) => !remote.some((candidate) => candidate.conversation_id === info.conversation_id),
    );
    // A conversation begun here whose first message is still on its way is not on the server's list yet.
    this.entries = [...local.filter((info) => info.conversation_id === keepId), ...remote];
  }

  /** Lists a conversation begun here, on top, under `title`; `now` is an ISO 8601 time. */
  begin(id: string, title: string, now: string): void {
    this.entries.unshift({ conversation_id: id, title, created_at: now, updated_at: now });
  }

  /**
   * Notes which reply of `conversationId` is being written (`undefined`: none).
   * @returns true when the list changed (the conversation is listed and its mark differed).
   */
  markStreaming(conversationId: string, messageId: string | undefined): boolean {
    const info = this.find(conversationId);
    if (!info || info.streaming_message_id === messageId) return false;
    if (messageId) info.streaming_message_id = messageId;
    else delete info.streaming_message_id;
    return true;
  }
}
