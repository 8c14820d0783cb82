import { rooms, type Disposable } from '@ctos/protocol';
import type { TerminalLink } from './terminal-link';
import { reapDeadWorkers } from './worker-reaping';

/**
 * Reaps dead terminal-workers: every gateway forgets their sessions at once; the one that
 * claims the death (`term:reaped:<worker>`) removes them from the directory and tells
 * each session's room `terminal:closed` with reason `worker_lost`. Disposing stops it.
 */
export function reapTerminalWorkers(link: TerminalLink): Disposable {
  const { transport, logger } = link.context;
  return reapDeadWorkers(link.context, {
    kind: 'terminal',
    claimKey: (worker) => `term:reaped:${worker}`,
    heard: (worker) => link.directory.forgetWorker(worker),
    reap: async (worker) => {
      const records = await link.directory.removeWorker(worker);
      for (const record of records) {
        await transport.emitter.emit(rooms.terminal(record.session_id), 'terminal:closed', {
          session_id: record.session_id,
          reason: 'worker_lost',
        });
      }
      logger.warn({ worker, sessions: records.length }, 'terminal worker lost; its sessions are closed');
    },
    failed: 'reaping a terminal worker failed',
  });
}
