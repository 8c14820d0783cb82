import type { ConversationMemory } from './conversation-stream';

/**
 * Remembers the open conversation in `localStorage[key]`. Where storage is blocked,
 * nothing is remembered and nothing throws: only the reopen-after-reload convenience is lost.
 */
export function localConversationMemory(key: string): ConversationMemory {
  return {
    load() {
      try {
        return localStorage.getItem(key) ?? undefined;
      } catch {
        return undefined; // storage blocked: start with a new conversation
      }
    },
    save(id) {
      try {
        if (id) localStorage.setItem(key, id);
        else localStorage.removeItem(key);
      } catch {
        // Storage blocked: only the reopen-after-reload convenience is lost.
      }
    },
  };
}
