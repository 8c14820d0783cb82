import type { Disposable } from '@ctos/protocol';
import { pruneRecordings, recordingFile, type Logger } from '@ctos/runtime';
import { AsciicastWriter } from './asciicast-writer';
import type { TerminalWorkerConfig } from './config';

/** How often recordings past their retention are looked for, at most (ms). */
const PRUNE_EVERY_MS = 3600_000;

/**
 * A worker's session recordings (issue 19): which sessions are recorded
 * (`TERMINAL_RECORDING`), where (`<TERMINAL_RECORDING_DIR>/<user's folder>/<session id>.cast`,
 * see @ctos/runtime's recordings), and their removal after `TERMINAL_RECORDING_RETENTION_MS`.
 */
export class SessionRecordings {
  constructor(
    private readonly config: TerminalWorkerConfig,
    private readonly logger: Logger,
  ) {}

  /**
   * The recording of a new session of `user` at `cols`×`rows`, where the setting says it
   * is recorded (`on`, or `opt-in` and `asked`). One that cannot be created is logged,
   * and the session runs unrecorded.
   */
  forSession(sessionId: string, user: string, cols: number, rows: number, asked: boolean): AsciicastWriter | undefined {
    const { config, logger } = this;
    if (config.TERMINAL_RECORDING === 'off' || (config.TERMINAL_RECORDING === 'opt-in' && !asked)) return undefined;
    const file = recordingFile(config.TERMINAL_RECORDING_DIR, user, sessionId)!;
    const header = {
      version: 2 as const,
      width: cols,
      height: rows,
      timestamp: Math.floor(Date.now() / 1000),
      env: { TERM: 'xterm-256color', SHELL: config.TERMINAL_SHELL },
    };
    const onError = (error: unknown): void =>
      logger.error({ err: error, session_id: sessionId }, 'recording stopped: it could not be written');
    try {
      return new AsciicastWriter(
        file,
        header,
        config.TERMINAL_RECORDING_MAX_BYTES,
        config.TERMINAL_RECORD_INPUT,
        onError,
      );
    } catch (error) {
      logger.error({ err: error, session_id: sessionId, user_id: user }, 'could not start a recording');
      return undefined;
    }
  }

  /** Removes recordings past their retention now, then every hour (or sooner, for a shorter retention), until disposed. */
  pruneNowAndThen(): Disposable {
    const { config, logger } = this;
    if (config.TERMINAL_RECORDING === 'off') return { dispose: () => undefined };
    const prune = (): void => {
      pruneRecordings(config.TERMINAL_RECORDING_DIR, config.TERMINAL_RECORDING_RETENTION_MS).then(
        (removed) => removed > 0 && logger.info({ removed }, 'recordings past their retention removed'),
        (error: unknown) => logger.error({ err: error }, 'could not prune recordings'),
      );
    };
    prune();
    const timer = setInterval(prune, Math.min(PRUNE_EVERY_MS, config.TERMINAL_RECORDING_RETENTION_MS));
    timer.unref();
    return { dispose: () => clearInterval(timer) };
  }
}
