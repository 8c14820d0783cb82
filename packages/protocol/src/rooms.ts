/**
 * Socket.IO room names. Workers reach clients only through these rooms, never through a
 * particular gateway.
 */
export const rooms = {
  /** Every socket of one user. */
  user: (userId: string): string => `user:${userId}`,
  /** Every socket attached to one terminal session. */
  terminal: (sessionId: string): string => `terminal:${sessionId}`,
  /** Every socket that has one conversation open. */
  ai: (conversationId: string): string => `ai:${conversationId}`,
} as const;
