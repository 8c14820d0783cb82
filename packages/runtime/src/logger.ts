import pino, { type Logger } from 'pino';
import { stdoutDestination } from './log-destination';

export type { Logger } from 'pino';

/**
 * Paths that never reach a log line: tokens, secrets, message and terminal content.
 * Logs say what happened to whom, not what was typed or written.
 */
const REDACTED_PATHS = [
  'token',
  '*.token',
  'auth.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'env',
  'content',
  '*.content',
  'data',
  '*.data',
  'chunk',
  '*.chunk',
];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service name bound to every line (`gateway`, `terminal-worker`…). */
  service: string;
  /** pino level; default `info`. */
  level?: string;
  /** Where lines go; default standard output, never blocking (see {@link stdoutDestination}). Tests pass a stream to read them. */
  destination?: pino.DestinationStream;
}

/** A JSON logger bound to `service`, with secrets and content redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? stdoutDestination(),
  );
}
