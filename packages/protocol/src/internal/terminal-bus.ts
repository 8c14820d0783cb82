import { z } from 'zod';
import { idSchema, offsetSchema } from '../common';
import { SCHEMA_BOUNDS } from '../limits';
import type { TerminalAttachResult, TerminalCreateResult, TerminalSessionInfo } from '../terminal';

/**
 * Messages from gateways to terminal-workers over the bus (not seen by browsers).
 * Requests (`create`, `attach`, `close`, `info`) get a reply; the rest are ordered sends
 * to the worker that owns the session. Workers validate them with these schemas too.
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
  /** Spawn a PTY for `user`, attached to `socket`; its output is held until `release`. */
  z.object({ op: z.literal('create'), cols: cells, rows: cells, ...attacher }),
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
}
