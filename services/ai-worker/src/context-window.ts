import type { ContextTurn } from './conversation-reader';

/** Joins two turns of the same role that end up next to each other. */
const TURN_SEPARATOR = '\n\n';

/**
 * The `messages` of an API request: the earlier turns (given newest first, already cut
 * to the context budget) oldest first, then the new user message. The API wants a
 * conversation that starts with the user and alternates, so leading replies are dropped
 * and neighbours of one role (a message whose reply failed before any text) are joined.
 */
export function buildContext(earlierNewestFirst: readonly ContextTurn[], message: string): ContextTurn[] {
  const turns = [...earlierNewestFirst].reverse();
  while (turns[0]?.role === 'assistant') turns.shift();
  turns.push({ role: 'user', content: message });
  const merged: ContextTurn[] = [];
  for (const turn of turns) {
    const last = merged[merged.length - 1];
    if (last && last.role === turn.role) last.content += TURN_SEPARATOR + turn.content;
    else merged.push({ ...turn });
  }
  return merged;
}
