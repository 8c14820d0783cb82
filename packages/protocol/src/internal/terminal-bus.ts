import { z } from 'zod';
import { idSchema, offsetSchema } from '../common';
import { SCHEMA_BOUNDS } from '../limits';
import type { TerminalAttachResult, TerminalCloseReason, TerminalCreateResult, TerminalSessionInfo } from '../terminal';

/**
 * Messages from gateways (and, for the assistant's tools, ai-workers) to terminal-workers
 * over the bus (not seen by browsers). Requests (`create`, `attach`, `close`, `info`,
 * `run`, `outcome`, `screen`) get a reply; the rest are ordered sends to the worker that
 * owns the session. Workers validate them with these schemas too.
 */
const cells = z.number().int().min(SCHEMA_BOUNDS.MIN_CELLS).max(SCHEMA_BOUNDS.MAX_CELLS);

/** Who is attaching: the socket, the gateway holding it (for gateway-death cleanup), its user. */
const attacher = {
  user: idSchema,
  socket: idSchema,
  gateway: idSchema,
  flow_control: z.boolean(),
};

export const terminalBusMessageSchema = z.discriminatedUnion('op', [
  /**
   * Spawn a PTY for `user`, attached to `socket`; its output is held until `release`.
   * `record`: the user asked for a recording (honoured where `TERMINAL_RECORDING=opt-in`).
   */
  z.object({ op: z.literal('create'), cols: cells, rows: cells, record: z.boolean().optional(), ...attacher }),
  /** Attach `socket`; the reply carries the replay after `since`; output is held until `release`. */
  z.object({ op: z.literal('attach'), session_id: idSchema, since: offsetSchema.optional(), ...attacher }),
  /** The gateway has delivered `socket`'s create/attach reply and joined the room: its hold ends. */
  z.object({ op: z.literal('release'), session_id: idSchema, socket: idSchema }),
  z.object({ op: z.literal('input'), session_id: idSchema, data: z.string() }),
  z.object({ op: z.literal('resize'), session_id: idSchema, cols: cells, rows: cells }),
  z.object({ op: z.literal('ack'), session_id: idSchema, socket: idSchema, seq: offsetSchema }),
  z.object({ op: z.literal('detach'), session_id: idSchema, socket: idSchema }),
  z.object({ op: z.literal('close'), session_id: idSchema, user: idSchema }),
  z.object({ op: z.literal('info'), session_ids: z.array(idSchema), user: idSchema }),
  /**
   * Runs `command` for `user` in a session of its own, as their shells run (their account
   * and limits), through their shell's `-c`: listed and attachable like any session, so
   * the page can show it live. The reply names the session as soon as it has started;
   * `outcome` waits for its end. The worker kills it after `timeout_ms` (ms).
   */
  z.object({
    op: z.literal('run'),
    user: idSchema,
    // A NUL would end the command where the shell's argument ends, running a prefix of what was approved.
    command: z
      .string()
      .min(1)
      .max(SCHEMA_BOUNDS.TERMINAL_COMMAND_CHARS)
      .refine((text) => !text.includes('\0'), 'must not contain NUL'),
    cols: cells,
    rows: cells,
    timeout_ms: z.number().int().positive().max(SCHEMA_BOUNDS.TERMINAL_RUN_TIMEOUT_MS),
    /** The most output (UTF-8 bytes of screen text) the outcome carries; the end is kept. */
    max_output_bytes: z.number().int().positive().max(SCHEMA_BOUNDS.TERMINAL_RUN_OUTPUT_BYTES),
  }),
  /** Waits until a `run` session of `user` has ended and answers how. */
  z.object({ op: z.literal('outcome'), session_id: idSchema, user: idSchema }),
  /** The text on the screen of `user`'s session and at most `scrollback` lines above it. */
  z.object({
    op: z.literal('screen'),
    session_id: idSchema,
    user: idSchema,
    scrollback: z.number().int().min(0).max(SCHEMA_BOUNDS.TERMINAL_SCREEN_SCROLLBACK_LINES),
  }),
]);
export type TerminalBusMessage = z.infer<typeof terminalBusMessageSchema>;

/** Each terminal operation's reply; `void` for the ordered sends. */
export interface TerminalBusReplies {
  /** The new session, and the worker that owns it (recorded in the gateway's cache). */
  create: TerminalCreateResult & { worker: string };
  attach: TerminalAttachResult;
  release: void;
  input: void;
  resize: void;
  ack: void;
  detach: void;
  close: Record<string, never>;
  /** The caller's own sessions among those asked about, as `terminal:list` shows them. */
  info: TerminalSessionInfo[];
  /** The session the command runs in, and its worker (send `outcome` there). */
  run: { session_id: string; worker: string };
  outcome: TerminalRunOutcome;
  screen: TerminalScreenText;
}

/** How a `run` ended. */
export interface TerminalRunOutcome {
  /** Why its session ended: `exit` (it ended by itself), `timeout` (killed at its timeout), `shutdown` (its worker stopped)… */
  reason: TerminalCloseReason;
  /** The shell's exit code; null when a signal ended it. */
  exit_code: number | null;
  /** The signal that ended it, if one did. */
  signal: number | null;
  /** The worker killed it at its `timeout_ms`. */
  timed_out: boolean;
  /** What it printed, as screen text (see `screenText`): its end, at most `max_output_bytes` UTF-8 bytes. */
  output: string;
  /** Bytes the command wrote to its terminal in all (escape sequences included). */
  output_bytes: number;
  /** `output` is only the end of what it printed. */
  truncated: boolean;
}

/** A session's screen as text. */
export interface TerminalScreenText {
  session_id: string;
  cols: number;
  rows: number;
  /** The screen and the scrollback asked for, one line per `\n`, trailing blanks trimmed. */
  text: string;
  title?: string;
}
