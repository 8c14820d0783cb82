import { startStandin } from '@ctos/anthropic-standin';
import { toParent } from './ipc';
import { scriptedDeltas } from './scripted-reply';

/**
 * The Anthropic stand-in for figure 5, in its own process so neither the direct SDK
 * client nor the ai-worker shares its event loop. On `{type: 'start', chunks}` it
 * answers every request with a reply of exactly `chunks` text deltas, `deltaIntervalMs`
 * apart (default 0: as fast as the socket takes them), and reports `{type: 'listening', url}`.
 */
process.on('message', (message: { type: string; chunks?: number; deltaIntervalMs?: number }) => {
  if (message.type !== 'start') return;
  const deltas = scriptedDeltas(message.chunks ?? 1000);
  startStandin({ script: () => ({ deltas, deltaIntervalMs: message.deltaIntervalMs ?? 0 }) }).then(
    (standin) => toParent({ type: 'listening', url: standin.url }),
    (error: unknown) => toParent({ type: 'error', error: (error as Error).message }),
  );
});
process.on('SIGTERM', () => process.exit(0));
toParent({ type: 'ready' });
