import type { AiConversationInfo } from '@ctos/protocol';
import { button, clear, el } from '../dom';
import { relativeTime } from '../time-format';

/** Shown for a conversation the server has not named yet. */
const UNTITLED = 'New conversation';

/** The assistant's sidebar list of conversations, newest first, the open one highlighted. */
export class ConversationList {
  readonly element = el('nav', { className: 'ai-list', attrs: { 'aria-label': 'Conversations' } });

  constructor(private readonly onOpen: (conversationId: string) => void) {}

  render(conversations: readonly AiConversationInfo[], currentId: string | undefined): void {
    clear(this.element);
    if (conversations.length === 0) {
      this.showNote('No conversations yet.');
      return;
    }
    for (const info of conversations) {
      const title = info.title || UNTITLED;
      this.element.appendChild(
        button(
          `ai-list-item${info.conversation_id === currentId ? ' active' : ''}`,
          title,
          () => this.onOpen(info.conversation_id),
          [
            el('span', { className: 'ai-list-title', text: title }),
            el('span', 'ai-list-meta', [
              info.streaming_message_id ? el('span', { className: 'live-dot', title: 'Replying now' }) : null,
              relativeTime(info.updated_at),
            ]),
          ],
        ),
      );
    }
  }

  /** A line in place of the list (an error, or that there is nothing yet). */
  showNote(text: string): void {
    this.element.replaceChildren(el('div', { className: 'ai-list-empty', text }));
  }
}
