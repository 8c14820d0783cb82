/**
 * How long a refused emit or a failed store write waits before it is tried again (ms).
 * Meanwhile the reply's later events wait, so what reaches the room and the store stays
 * whole and in order across a Redis outage.
 */
export const RETRY_MS = 250;
/**
 * Attempts before the relay gives up on one emit or write (about a minute): then the
 * emit counts as sent (a client that missed it resumes from the store) and the write as
 * lost (logged), so a reply cannot hang for ever on a Redis that does not come back.
 */
export const MAX_ATTEMPTS = 240;
