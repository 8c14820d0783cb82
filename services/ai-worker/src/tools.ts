import type Anthropic from '@anthropic-ai/sdk';
import { idSchema, SCHEMA_BOUNDS, ServiceError, type TerminalBusReplies } from '@ctos/protocol';
import type { Bus, SessionDirectory } from '@ctos/transport';
import { z } from 'zod';

/** The assistant's tools (issue 18), by the names the model calls them. */
export const TOOL_NAMES = ['run_command', 'read_terminal'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The size the terminal a command runs in starts at (cells): the seed's default. */
const RUN_SIZE = { cols: 120, rows: 32 };
/** Beyond the command's own timeout, how long the worker's answer may take (ms). */
const OUTCOME_MARGIN_MS = 5000;
/** Scrollback lines `read_terminal` reads when the model does not say. */
const DEFAULT_SCROLLBACK_LINES = 200;

const runCommandInput = z.strictObject({
  command: z
    .string()
    .trim()
    .min(1)
    .max(SCHEMA_BOUNDS.TERMINAL_COMMAND_CHARS)
    // A NUL ends the shell's argument: what runs would be a prefix of what the user approved.
    .refine((text) => !text.includes('\0'), 'must not contain NUL characters'),
});
const readTerminalInput = z.strictObject({
  session_id: idSchema.optional(),
  scrollback_lines: z
    .number()
    .int()
    .min(0)
    .max(SCHEMA_BOUNDS.TERMINAL_SCREEN_SCROLLBACK_LINES)
    .default(DEFAULT_SCROLLBACK_LINES),
});

/**
 * Each tool as the model sees it (the Messages API's `tools`: name, description, JSON
 * schema of the input). The worker validates every call against the same shape with zod.
 */
export const TOOL_DEFINITIONS: Record<ToolName, Anthropic.Tool> = {
  run_command: {
    name: 'run_command',
    description:
      "Runs one shell command in the user's own terminal environment (their account, home and limits) " +
      'and returns its exit code and the end of what it printed. The user sees it run in a terminal ' +
      'window and approves each call. Non-interactive: it gets no input, and is stopped at its timeout.',
    input_schema: {
      type: 'object',
      properties: { command: { type: 'string', description: 'The command line, as typed into the shell.' } },
      required: ['command'],
      additionalProperties: false,
    },
  },
  read_terminal: {
    name: 'read_terminal',
    description:
      "Reads what one of the user's terminal sessions shows: the screen and recent scrollback, as text. " +
      'Without a session_id, the session the user used last.',
    input_schema: {
      type: 'object',
      properties: {
        session_id: { type: 'string', description: 'The terminal session to read; omit for the latest one.' },
        scrollback_lines: {
          type: 'integer',
          minimum: 0,
          maximum: SCHEMA_BOUNDS.TERMINAL_SCREEN_SCROLLBACK_LINES,
          description: `Lines above the screen to include (default ${DEFAULT_SCROLLBACK_LINES}).`,
        },
      },
      additionalProperties: false,
    },
  },
};

/** What a tool call gives back: the `tool_result` block's text, and whether it is an error. */
export interface ToolResult {
  content: string;
  is_error: boolean;
  /** The terminal session the call ran in or read (the page shows it). */
  session_id?: string;
}

/** What running a tool needs. */
export interface ToolContext {
  /** The user the reply is for: a tool touches only their sessions. */
  user: string;
  bus: Bus;
  /** The terminal session directory (`term`): which worker holds a session, and whose it is. */
  directory: SessionDirectory;
  /** `run_command`'s limits: stopped after `timeoutMs` (ms), at most `maxOutputBytes` of output (UTF-8) returned. */
  run: { timeoutMs: number; maxOutputBytes: number };
  /** A command started in session `sessionId` (before it ends: the page opens it live). */
  started?(sessionId: string): void;
}

/** An error result the model reads: what went wrong, in words. */
function refused(content: string, sessionId?: string): ToolResult {
  return { content, is_error: true, ...(sessionId === undefined ? {} : { session_id: sessionId }) };
}

/**
 * Runs tool `name` with the model's `input` for `context.user`. Never throws: bad input,
 * another user's session, and a terminal service that cannot be reached each come back
 * as an `is_error` result saying so, and the reply goes on.
 */
export async function runTool(name: string, input: unknown, context: ToolContext): Promise<ToolResult> {
  try {
    if (name === 'run_command') return await runCommand(input, context);
    if (name === 'read_terminal') return await readTerminal(input, context);
    return refused(`There is no tool named ${name}.`);
  } catch (error) {
    if (error instanceof ServiceError) {
      if (error.code === 'NOT_FOUND') return refused('No such terminal session of this user.');
      return refused(`The terminal service did not answer (${error.code}): ${error.message}`);
    }
    return refused('The tool failed unexpectedly.');
  }
}

/** `input` checked against `schema`; the problems, in words, when it does not match. */
function parsed<T>(schema: z.ZodType<T>, input: unknown): { value: T } | { problem: string } {
  const result = schema.safeParse(input);
  if (result.success) return { value: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`);
  return { problem: `Invalid input: ${problems.join('; ')}.` };
}

async function runCommand(input: unknown, context: ToolContext): Promise<ToolResult> {
  const checked = parsed(runCommandInput, input);
  if ('problem' in checked) return refused(checked.problem);
  const { bus, user, run } = context;
  const started = await bus.request<TerminalBusReplies['run']>(
    { kind: 'terminal' },
    {
      op: 'run',
      user,
      command: checked.value.command,
      ...RUN_SIZE,
      timeout_ms: run.timeoutMs,
      max_output_bytes: run.maxOutputBytes,
    },
  );
  context.started?.(started.session_id);
  const outcome = await bus.request<TerminalBusReplies['outcome']>(
    { worker: started.worker },
    { op: 'outcome', session_id: started.session_id, user },
    { timeoutMs: run.timeoutMs + OUTCOME_MARGIN_MS },
  );
  const lines = [
    outcome.timed_out
      ? `Stopped after ${run.timeoutMs} ms (the timeout): it had not finished.`
      : outcome.exit_code !== null
        ? `Exit code: ${outcome.exit_code}`
        : outcome.signal !== null
          ? `Ended by signal ${outcome.signal}.`
          : `Stopped before it finished: its terminal ended (${outcome.reason}).`,
    outcome.truncated
      ? `Output (${outcome.output_bytes} bytes in all; only the last ${run.maxOutputBytes} bytes are shown):`
      : 'Output:',
    outcome.output,
  ];
  return {
    content: lines.join('\n'),
    // A command that failed still ran: its exit code says so. One stopped (its timeout, its
    // terminal's end) did not finish.
    is_error: outcome.timed_out || (outcome.exit_code === null && outcome.signal === null),
    session_id: started.session_id,
  };
}

async function readTerminal(input: unknown, context: ToolContext): Promise<ToolResult> {
  const checked = parsed(readTerminalInput, input);
  if ('problem' in checked) return refused(checked.problem);
  const { bus, user, directory } = context;
  const sessionId = checked.value.session_id ?? (await latestSession(context));
  if (sessionId === undefined) return refused('This user has no terminal session open.');
  const record = await directory.lookup(sessionId);
  // Another user's session is refused exactly as one that does not exist.
  if (!record || record.user !== user) return refused('No such terminal session of this user.');
  const screen = await bus.request<TerminalBusReplies['screen']>(
    { worker: record.worker },
    { op: 'screen', session_id: sessionId, user, scrollback: checked.value.scrollback_lines },
  );
  const title = screen.title === undefined ? '' : ` "${screen.title}"`;
  return {
    content: `Terminal ${sessionId}${title}, ${screen.cols}×${screen.rows}:\n${screen.text}`,
    is_error: false,
    session_id: sessionId,
  };
}

/** The user's session with the latest activity, asked of the workers that hold them. */
async function latestSession({ bus, user, directory }: ToolContext): Promise<string | undefined> {
  const byWorker = new Map<string, string[]>();
  for (const sessionId of await directory.forUser(user)) {
    const record = await directory.lookup(sessionId);
    if (record?.user === user) byWorker.set(record.worker, [...(byWorker.get(record.worker) ?? []), sessionId]);
  }
  const infos = await Promise.all(
    [...byWorker].map(([worker, sessionIds]) =>
      bus
        .request<TerminalBusReplies['info']>({ worker }, { op: 'info', session_ids: sessionIds, user })
        .catch(() => []),
    ),
  );
  const sessions = infos.flat().sort((a, b) => b.last_activity.localeCompare(a.last_activity));
  return sessions[0]?.session_id;
}
