import { ServiceError, type DisposableStore } from '@ctos/protocol';
import { TokenBucket } from '@ctos/runtime';
import { bindEvent, type ParsedPayload } from './bind-event';
import { InputRelay } from './terminal-input';
import type { TerminalLink } from './terminal-link';
import type { GatewaySocket } from './types';

/**
 * Wires the events that stream through one socket's sessions — `terminal:input`,
 * `terminal:resize` and `terminal:ack` — each sent in order to the session's worker;
 * their listeners are added to `owner`. Input has a byte budget per socket
 * (TERMINAL_INPUT_BYTES_PER_SECOND, TERMINAL_INPUT_BURST_BYTES) besides its size limit,
 * and goes through the socket's {@link InputRelay}, which holds it across a Redis blip.
 */
export function bindStreamEvents(link: TerminalLink, socket: GatewaySocket, owner: DisposableStore): void {
  const { context } = link;
  const user = socket.data.user;
  const { config } = context;
  const inputBudget = new TokenBucket(config.TERMINAL_INPUT_BYTES_PER_SECOND, config.TERMINAL_INPUT_BURST_BYTES);
  const relay = new InputRelay(link, user);
  owner.add(relay);

  owner.add(
    bindEvent(socket, context, 'terminal:input', async (payload) => {
      const bytes = takeInput(link, inputBudget, payload);
      await relay.send(payload.session_id, payload.data, bytes);
    }),
  );

  owner.add(
    bindEvent(socket, context, 'terminal:resize', async (payload) => {
      const record = await link.directory.owned(payload.session_id, user);
      await link.send(record.worker, {
        op: 'resize',
        session_id: payload.session_id,
        cols: payload.cols,
        rows: payload.rows,
      });
    }),
  );

  owner.add(
    bindEvent(socket, context, 'terminal:ack', async (payload) => {
      if (!socket.data.terminals.has(payload.session_id)) {
        throw new ServiceError('NOT_FOUND', 'This socket is not attached to that terminal session.');
      }
      const record = await link.directory.owned(payload.session_id, user);
      await link.send(record.worker, {
        op: 'ack',
        session_id: payload.session_id,
        socket: socket.id,
        seq: payload.seq,
      });
    }),
  );
}

/**
 * Takes the input's bytes (UTF-8) from the socket's budget; returns how many.
 * @throws ServiceError `LIMIT_EXCEEDED` over TERMINAL_MAX_INPUT_BYTES, `RATE_LIMITED` when the budget is spent.
 */
function takeInput(link: TerminalLink, budget: TokenBucket, payload: ParsedPayload<'terminal:input'>): number {
  const { config } = link.context;
  const bytes = Buffer.byteLength(payload.data, 'utf8');
  if (bytes > config.TERMINAL_MAX_INPUT_BYTES) {
    throw new ServiceError(
      'LIMIT_EXCEEDED',
      `Input is larger than ${config.TERMINAL_MAX_INPUT_BYTES} bytes; send it in smaller pieces.`,
    );
  }
  if (!budget.take(bytes)) {
    throw new ServiceError('RATE_LIMITED', 'Input is arriving faster than the terminal accepts; slow down.');
  }
  return bytes;
}
