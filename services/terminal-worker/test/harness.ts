import { startEmbedded, type Embedded } from '@ctos/launcher';
import type { AckResponse, TerminalAttachResult } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, OutputCollector, signToken, TEST_JWT_SECRET, type ClientSocket } from '@ctos/testkit';

/** Settings every terminal test starts from: a plain bash with no rc files. */
export const TEST_SHELL_ENV = {
  PORT: '0',
  AUTH_JWT_SECRET: TEST_JWT_SECRET,
  WEB_DIST_DIR: '/nonexistent',
  TERMINAL_SHELL: '/bin/bash',
  TERMINAL_SHELL_ARGS: '--norc --noprofile',
  LOG_LEVEL: 'silent',
};

/** Embedded mode with test settings (added to {@link TEST_SHELL_ENV}). */
export function startTestSystem(env: Record<string, string> = {}): Promise<Embedded> {
  return startEmbedded({
    env: { ...TEST_SHELL_ENV, ...env },
    logger: (service) => createLogger({ service, level: 'silent' }),
  });
}

/** A connected socket of `user`. */
export async function connectAs(url: string, user: string): Promise<ClientSocket> {
  return connectClient(url, await signToken(user));
}

/** Creates a session and follows its output. */
export async function openSession(
  socket: ClientSocket,
  options: { cols?: number; rows?: number; flow_control?: boolean; record?: boolean } = {},
): Promise<OutputCollector> {
  const response = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24, ...options });
  if (!response.success) throw new Error(`create failed: ${response.code} ${response.error}`);
  return new OutputCollector(socket, response.session_id);
}

/** Attaches `socket` to a session from `since`, adding the replay to `collector`. */
export async function attach(
  socket: ClientSocket,
  collector: OutputCollector,
  since?: number,
): Promise<AckResponse<TerminalAttachResult>> {
  collector.moveTo(socket);
  collector.beginAttach();
  const response = await socket.emitWithAck('terminal:attach', {
    session_id: collector.sessionId,
    ...(since === undefined ? {} : { since }),
  });
  if (response.success) collector.addReplay(response.data, response.seq, response.snapshot);
  else collector.addReplay('', 0, false);
  return response;
}

/** Types a line into the session. */
export function type(socket: ClientSocket, collector: OutputCollector, line: string): void {
  socket.emit('terminal:input', { session_id: collector.sessionId, data: `${line}\r` });
}
