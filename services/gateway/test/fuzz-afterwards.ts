import { randomUUID } from 'node:crypto';
import { OutputCollector, type ClientSocket } from '@ctos/testkit';
import type { Knowledge } from './fuzz-oracle';
import type { FuzzSystem } from './fuzz-system';

/** Types `echo <marker>-$((6*7))` into a session and waits for `<marker>-42`, which only the shell can write. */
async function echoes(socket: ClientSocket, output: OutputCollector, marker: string): Promise<void> {
  socket.emit('terminal:input', { session_id: output.sessionId, data: `echo ${marker}-$((6*7))\r` });
  await output.waitForText(`${marker}-42`);
}

/**
 * After the fuzz, the gateway and every worker still serve: a new user gets a shell, a
 * message and an AI reply, and every seeded session of both users still runs its shell.
 */
export async function checkStillServes(
  system: FuzzSystem,
  connect: (user: string) => Promise<ClientSocket>,
  knowledge: Knowledge,
): Promise<void> {
  const fresh = await connect('newcomer');
  const created = await fresh.emitWithAck('terminal:create', { cols: 80, rows: 24 });
  if (!created.success) throw new Error(`terminal:create answered ${created.code}`);
  await echoes(fresh, new OutputCollector(fresh, created.session_id), 'fresh');

  const delivered = new Promise((resolve) => fresh.once('message:new', resolve));
  await system.publish('newcomer', 'after the fuzz');
  await expect(delivered).resolves.toMatchObject({ title: 'after the fuzz', read: false });

  const conversationId = randomUUID();
  const ended = new Promise((resolve) => fresh.once('ai:stream:end', resolve));
  const sent = await fresh.emitWithAck('ai:message', { conversation_id: conversationId, content: 'still there?' });
  expect(sent).toMatchObject({ success: true });
  await expect(ended).resolves.toMatchObject({ conversation_id: conversationId, stop_reason: 'end_turn' });

  for (const [user, things] of [
    ['fuzzer', knowledge.own],
    ['bystander', knowledge.other],
  ] as const) {
    const socket = await connect(user);
    for (const sessionId of things.sessions) {
      const output = new OutputCollector(socket, sessionId);
      output.beginAttach();
      const attached = await socket.emitWithAck('terminal:attach', { session_id: sessionId });
      if (!attached.success) throw new Error(`terminal:attach of ${user}'s session answered ${attached.code}`);
      output.addReplay(attached.data, attached.seq, attached.snapshot);
      await echoes(socket, output, 'alive');
      output.stop();
    }
  }
}
