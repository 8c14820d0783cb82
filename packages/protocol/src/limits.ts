/**
 * Hard upper bounds that every payload schema enforces, whatever the deployment's
 * configuration says. Configured limits (sessions per user, input bytes per event…)
 * are lower and are enforced by the services; these only stop absurd payloads early.
 */
export const SCHEMA_BOUNDS = {
  /** Longest id we accept (session, conversation, message): uuids are 36 characters. */
  ID_CHARS: 128,
  /** Terminal size, in cells, per axis. Matches the "resize bounded (1..1000)". */
  MIN_CELLS: 1,
  MAX_CELLS: 1000,
  /** Largest `terminal:input` data, in UTF-16 code units, before the configured byte limit applies. */
  TERMINAL_INPUT_CHARS: 1024 * 1024,
  /** Longest command the assistant may run in a user's terminal (`run_command`), in characters. */
  TERMINAL_COMMAND_CHARS: 16 * 1024,
  /** Longest a command run for the assistant may be given (ms): a day. */
  TERMINAL_RUN_TIMEOUT_MS: 24 * 3600 * 1000,
  /** Most output a run's outcome may carry (UTF-8 bytes). */
  TERMINAL_RUN_OUTPUT_BYTES: 1024 * 1024,
  /** Most scrollback lines one `screen` read may ask for (`read_terminal`). */
  TERMINAL_SCREEN_SCROLLBACK_LINES: 10_000,
  /** Largest AI user message, in characters. */
  AI_CONTENT_CHARS: 200_000,
  /** Largest page of messages a client may ask for. */
  PAGE_SIZE: 500,
  /** Message fields, in characters. */
  MESSAGE_TITLE_CHARS: 200,
  MESSAGE_CONTENT_CHARS: 20_000,
  MESSAGE_SOURCE_CHARS: 64,
  MESSAGE_LINK_CHARS: 2048,
} as const;
