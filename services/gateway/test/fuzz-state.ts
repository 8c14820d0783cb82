import { randomUUID } from 'node:crypto';
import type { AckResponse } from '@ctos/protocol';
import { type ClientSocket, connectClient, OutputCollector, signToken, waitForValue } from '@ctos/testkit';
import type { UserThings } from './fuzz-oracle';
import type { FuzzSystem } from './fuzz-system';

/** Everything the protocol lets a user list about themselves. */
export interface UserState {
  terminals: unknown;
  /** `message:sync` from the start: every message, oldest first, with its read flag; unread count; latest id. */
  sync: unknown;
  /** `message:list`: the newest page. */
  list: unknown;
  conversations: unknown;
  /** `ai:history` of each listed conversation, by id. */
  histories: Record<string, unknown>;
}

/** Every message a user may have in the fuzz, in one page. */
const PAGE = 500;

/** The data of a successful answer; throws with the code otherwise. */
function data<T extends object>(what: string, answer: AckResponse<T>): T {
  if (!answer.success) throw new Error(`${what} answered ${answer.code}: ${answer.error}`);
  return answer;
}

/** Reads the whole state of the socket's user through the protocol's listing events. */
export async function readState(socket: ClientSocket): Promise<UserState> {
  const terminals = data('terminal:list', await socket.emitWithAck('terminal:list', {}));
  const sync = data('message:sync', await socket.emitWithAck('message:sync', { since: 0, limit: PAGE }));
  const list = data('message:list', await socket.emitWithAck('message:list', { limit: PAGE }));
  const conversations = data('ai:conversations', await socket.emitWithAck('ai:conversations', {}));
  const histories: Record<string, unknown> = {};
  for (const { conversation_id } of conversations.conversations) {
    histories[conversation_id] = data(
      'ai:history',
      await socket.emitWithAck('ai:history', { conversation_id }),
    ).messages;
  }
  return {
    terminals: terminals.sessions,
    sync,
    list,
    conversations: conversations.conversations,
    histories,
  };
}

/** What to create for a user before the fuzz. */
export interface Seed {
  /** Terminal sizes, one session each. */
  terminals: Array<{ cols: number; rows: number }>;
  messages: number;
  /** Messages marked read, from the first. */
  read: number;
  conversations: number;
}

/** A prompt that tells when the shell has written everything it will write. */
const PROMPT = 'fz> ';

/**
 * Creates the seed's sessions (each with some output, then idle at a known prompt),
 * messages (some read) and AI conversations (each with a complete reply) for `user`,
 * through a socket that is closed afterwards, and waits until the state is still.
 */
export async function seedUser(system: FuzzSystem, user: string, seed: Seed): Promise<UserThings> {
  const socket = await connectClient(system.url, await signToken(user));
  try {
    const sessions: string[] = [];
    for (const [i, size] of seed.terminals.entries()) {
      const created = data('terminal:create', await socket.emitWithAck('terminal:create', size));
      const output = new OutputCollector(socket, created.session_id);
      socket.emit('terminal:input', { session_id: created.session_id, data: `PS1='${PROMPT}'; echo seeded-${i}\r` });
      // The marker's output line, then the new prompt (after bash's bracketed-paste switch) and nothing more.
      await output.waitForText(new RegExp(`[\\r\\n]seeded-${i}\\r\\n(?:\\x1b\\[\\?2004h)?${PROMPT}$`));
      output.stop();
      sessions.push(created.session_id);
    }
    const messageIds: number[] = [];
    for (let i = 0; i < seed.messages; i++) messageIds.push(await system.publish(user, `${user} message ${i}`));
    if (seed.read > 0)
      data('message:read', await socket.emitWithAck('message:read', { up_to: messageIds[seed.read - 1]! }));
    const conversations: string[] = [];
    const replies: string[] = [];
    for (let i = 0; i < seed.conversations; i++) {
      const conversationId = randomUUID();
      const ended = new Promise<void>((resolve) => {
        const onEnd = (event: { conversation_id: string }) => {
          if (event.conversation_id !== conversationId) return;
          socket.off('ai:stream:end', onEnd);
          resolve();
        };
        socket.on('ai:stream:end', onEnd);
      });
      const sent = data(
        'ai:message',
        await socket.emitWithAck('ai:message', { conversation_id: conversationId, content: `hello ${i}` }),
      );
      await ended;
      conversations.push(conversationId);
      replies.push(sent.message_id);
    }
    return { sessions, conversations, replies, messageIds };
  } finally {
    socket.close();
  }
}

/** Waits until none of the user's sessions has a socket attached (the seeding socket has gone). */
export async function waitUntilDetached(socket: ClientSocket, user: string): Promise<void> {
  await waitForValue(
    async () => {
      const answer = data('terminal:list', await socket.emitWithAck('terminal:list', {}));
      return answer.sessions.every((session) => session.attached === 0) || undefined;
    },
    { message: `${user}'s sessions to be detached` },
  );
}
