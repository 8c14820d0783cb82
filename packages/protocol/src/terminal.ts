import { z } from 'zod';
import type { ErrorCode } from './errors';
import { idSchema, ignoredUserIdSchema, offsetSchema } from './common';
import { SCHEMA_BOUNDS } from './limits';

const cellsSchema = z.number().int().min(SCHEMA_BOUNDS.MIN_CELLS).max(SCHEMA_BOUNDS.MAX_CELLS);

/** Default terminal size when `terminal:create` gives none (the seed's 80×24). */
export const DEFAULT_COLS = 80;
export const DEFAULT_ROWS = 24;

/**
 * A flow-controlled client acknowledges (`terminal:ack`) once it has rendered this many
 * bytes more than it last acknowledged (VS Code's 5,000): the web page does, and so does
 * the benchmark's client. The worker's low watermark must stay above it (decision 0015).
 */
export const TERMINAL_ACK_EVERY_BYTES = 5000;

/**
 * `terminal:create` — start a shell. The PTY is spawned at this size, so programs that
 * read the size at start-up draw for the real window (P04, docs/pitfalls.md).
 * `flow_control: true` makes this socket's attachment hold the PTY paused while it has
 * more than the high watermark of output unacknowledged (see `terminal:ack`).
 * `record: true` asks for a recording where the server records on request
 * (`TERMINAL_RECORDING=opt-in`); `on` records every session, `off` none.
 */
export const terminalCreateSchema = z.strictObject({
  cols: cellsSchema.default(DEFAULT_COLS),
  rows: cellsSchema.default(DEFAULT_ROWS),
  user_id: ignoredUserIdSchema,
  flow_control: z.boolean().optional(),
  record: z.boolean().optional(),
});
export type TerminalCreatePayload = z.input<typeof terminalCreateSchema>;

/** `terminal:input` — keystrokes or pasted text, written to the PTY as UTF-8. */
export const terminalInputSchema = z.strictObject({
  session_id: idSchema,
  data: z.string().max(SCHEMA_BOUNDS.TERMINAL_INPUT_CHARS),
});
export type TerminalInputPayload = z.input<typeof terminalInputSchema>;

/** `terminal:resize` — the window's size in cells (1..1000 each). */
export const terminalResizeSchema = z.strictObject({
  session_id: idSchema,
  cols: cellsSchema,
  rows: cellsSchema,
});
export type TerminalResizePayload = z.input<typeof terminalResizeSchema>;

/** `terminal:close`, `terminal:reconnect` — a session by id. */
export const terminalSessionRefSchema = z.strictObject({
  session_id: idSchema,
});
export type TerminalSessionRef = z.input<typeof terminalSessionRefSchema>;

/**
 * `terminal:attach` — join a session's output. `since` is the last `seq` the client has;
 * the acknowledgement carries what came after it (or a screen snapshot when `since` is
 * older than the replay buffer). Omit `since` to get the whole screen.
 */
export const terminalAttachSchema = z.strictObject({
  session_id: idSchema,
  since: offsetSchema.optional(),
  flow_control: z.boolean().optional(),
});
export type TerminalAttachPayload = z.input<typeof terminalAttachSchema>;

/** `terminal:ack` — the client has rendered output up to `seq` (bytes). */
export const terminalAckSchema = z.strictObject({
  session_id: idSchema,
  seq: offsetSchema,
});
export type TerminalAckPayload = z.input<typeof terminalAckSchema>;

/** `terminal:list` — the caller's live sessions. `user_id` is ignored. */
export const terminalListSchema = z
  .strictObject({
    user_id: ignoredUserIdSchema,
  })
  .optional();
export type TerminalListPayload = z.input<typeof terminalListSchema>;

/**
 * One recording, as `terminal:recordings` lists it: an asciicast v2 file of one session
 * (its `recording_id` is the session's id), read with `GET /recordings/<recording_id>.cast`
 * and the same token as the socket (`Authorization: Bearer`).
 */
export interface TerminalRecordingInfo {
  recording_id: string;
  /** When the session started (ISO 8601). */
  started_at: string;
  /** The file's size (bytes). */
  bytes: number;
  /** The terminal's size at the start, in cells. */
  cols: number;
  rows: number;
  title?: string;
}

/**
 * `terminal:output` (server→client). `seq` is the session's output position *after* this
 * chunk, counted in bytes of the UTF-8 encoding of the text sent (`utf8Length`).
 * A client keeps the last `seq` it rendered and gives it back as `since` when it
 * re-attaches; a chunk whose `seq` is not above that is a repeat and is dropped, and one
 * that starts after it is a gap, repaired by attaching from it.
 */
export interface TerminalOutputEvent {
  session_id: string;
  data: string;
  seq: number;
}

/** Why a session ended: a closed set. */
export const TERMINAL_CLOSE_REASONS = [
  /** The shell exited by itself (`exit_code` and `signal` tell how). */
  'exit',
  /** Its owner closed it with `terminal:close`. */
  'closed',
  /** It stayed detached longer than the idle timeout. */
  'timeout',
  /** The terminal-worker that ran it stopped heartbeating. */
  'worker_lost',
  /** Its terminal-worker was shut down by the operator. */
  'shutdown',
] as const;
export type TerminalCloseReason = (typeof TERMINAL_CLOSE_REASONS)[number];

/** `terminal:closed` (server→client): the session is gone and will send nothing more. */
export interface TerminalClosedEvent {
  session_id: string;
  reason: TerminalCloseReason;
  exit_code?: number;
  signal?: number;
}

/** `terminal:error` (server→client): an event without an ack callback failed. */
export interface TerminalErrorEvent {
  session_id?: string;
  code: ErrorCode;
  error: string;
}

/** One entry of `terminal:list`'s answer. Times are ISO 8601 with a zone. */
export interface TerminalSessionInfo {
  session_id: string;
  created_at: string;
  last_activity: string;
  /** The shell's working directory, when the worker can read it. */
  cwd?: string;
  cols: number;
  rows: number;
  /** Output position (bytes) so far. */
  seq: number;
  /** The last title the shell set with OSC 0/2, if any. */
  title?: string;
  /** Number of sockets attached now. */
  attached: number;
}

/** `terminal:create`'s acknowledgement data. */
export interface TerminalCreateResult {
  session_id: string;
  created_at: string;
}

/**
 * `terminal:attach`'s acknowledgement data. `data` is what the client lacks: the output
 * after `since` (`snapshot: false`), or a serialized screen followed by the buffered
 * output (`snapshot: true`: reset the terminal before writing it). `seq` is the position
 * after `data`; live `terminal:output` follows from there.
 */
export interface TerminalAttachResult {
  session_id: string;
  created_at: string;
  data: string;
  seq: number;
  snapshot: boolean;
  cols: number;
  rows: number;
}

/** `terminal:reconnect`'s acknowledgement data (the original client's shape). */
export interface TerminalReconnectResult {
  session_id: string;
  created_at: string;
}
