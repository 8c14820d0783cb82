import { startEmbedded, type Embedded } from '@ctos/launcher';
import { CLIENT_EVENT_SCHEMAS, ERROR_CODES } from '@ctos/protocol';
import { createLogger } from '@ctos/runtime';
import { connectClient, OutputCollector, signToken, TEST_JWT_SECRET, type ClientSocket } from '@ctos/testkit';

/** How many malformed events the fuzz sends. */
const TOTAL = 10_000;

type Emit = (event: string, ...args: unknown[]) => unknown;

/** A payload that no event accepts: wrong types, huge strings, deep nesting, pollution keys. */
function malformed(i: number): unknown {
  let deep: unknown = 'bottom';
  for (let d = 0; d < 200; d++) deep = [deep];
  const family = [
    () => i,
    () => -i,
    () => `text-${i}`,
    () => '',
    () => true,
    () => null,
    () => [i, { session_id: 'x' }],
    () => deep,
    () => ({ session_id: 'x'.repeat(200_000), conversation_id: 'y'.repeat(200_000), message_id: -1, cols: 'abc' }),
    () => JSON.parse('{"__proto__": {"polluted": "yes"}, "session_id": 7, "cols": {}, "message_id": "x"}') as unknown,
    () => ({ constructor: { prototype: { polluted: 'yes' } }, session_id: [], cols: -1, up_to: 'z', limit: 1e9 }),
    () => ({ session_id: { toString: 'x' }, data: 5, cols: 1e9, rows: 0, since: -3, content: 42, all: false }),
  ];
  return family[i % family.length]!();
}

const UNKNOWN_EVENTS = [
  'terminal:destroy',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'ai:drop',
  'x'.repeat(500),
];

describe('a fuzz of malformed events', () => {
  let system: Embedded;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    system = await startEmbedded({
      env: {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        WEB_DIST_DIR: '/nonexistent',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
        // The fuzz is about validation: lift the per-socket event rate out of its way.
        GATEWAY_EVENTS_PER_SECOND: '1000000',
        GATEWAY_EVENTS_BURST: '1000000',
      },
      logger: (service) => createLogger({ service, level: 'silent' }),
    });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await system.stop();
  });

  it('answers every one with a code, changes nothing, and disturbs no other user', async () => {
    const fuzzer = await connectClient(system.url, await signToken('fuzzer'));
    const bystander = await connectClient(system.url, await signToken('bystander'));
    sockets.push(fuzzer, bystander);
    const created = await bystander.emitWithAck('terminal:create', { cols: 80, rows: 24 });
    if (!created.success) throw new Error(created.error);
    const out = new OutputCollector(bystander, created.session_id);

    const events = [...Object.keys(CLIENT_EVENT_SCHEMAS), ...UNKNOWN_EVENTS];
    const emit = fuzzer.emitWithAck.bind(fuzzer) as Emit;
    const fire = fuzzer.emit.bind(fuzzer) as Emit;
    const answers: unknown[] = [];
    const BATCH = 250;
    for (let start = 0; start < TOTAL; start += BATCH) {
      const batch: Array<Promise<unknown>> = [];
      for (let i = start; i < Math.min(TOTAL, start + BATCH); i++) {
        const event = events[i % events.length]!;
        if (i % 10 === 9)
          fire(event, malformed(i)); // no ack: answered by an *:error event, if at all
        else batch.push(emit(event, malformed(i)) as Promise<unknown>);
      }
      answers.push(...(await Promise.all(batch)));
      // The bystander's shell answers throughout.
      bystander.emit('terminal:input', { session_id: out.sessionId, data: `echo alive-${start}\r` });
      await out.waitForText(new RegExp(`[\\r\\n]alive-${start}\\r\\n`));
    }
    expect(answers).toHaveLength(TOTAL - TOTAL / 10);
    for (const answer of answers) {
      expect(answer).toMatchObject({ success: false, code: expect.any(String), error: expect.any(String) });
      expect(ERROR_CODES).toContain((answer as { code: string }).code);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(fuzzer.connected).toBe(true);
    // Nothing was created for the fuzzer.
    await expect(fuzzer.emitWithAck('terminal:list', {})).resolves.toEqual({ success: true, sessions: [] });
  });
});
