/**
 * The bus typed both ways: each `@ts-expect-error` below compiles only because the type
 * checker (`tsc -p tsconfig.test.json`, part of `npm test`) refuses the line under it.
 */
import {
  ServiceError,
  type BusHandlers,
  type MessageBusMessage,
  type MessageBusReplies,
  type TerminalBusMessage,
  type TerminalBusReplies,
} from '@ctos/protocol';
import { transportFactory, type TransportFactory } from '@ctos/testkit';
import { busClient, dispatchBus } from '../src';

const HEARTBEAT = { intervalMs: 1000, missedBeats: 3 };

describe('the typed bus', () => {
  let factory: TransportFactory;
  beforeEach(() => {
    factory = transportFactory('memory', HEARTBEAT, 'typed-bus');
  });
  afterEach(() => factory.cleanup());

  it('refuses, at compile time, a worker reply of the wrong shape and a missing operation', () => {
    const handlers: BusHandlers<MessageBusMessage, MessageBusReplies> = {
      // @ts-expect-error — `sync` must answer a MessageSyncResult, not a string
      sync: () => 'three messages',
      list: () => ({ messages: [], unread_count: 0, has_more: false }),
      read: () => ({ unread_count: 0 }),
    };
    // @ts-expect-error — every operation needs a handler: `read` is missing
    const incomplete: BusHandlers<MessageBusMessage, MessageBusReplies> = { sync: handlers.sync, list: handlers.list };
    expect(Object.keys(incomplete)).toEqual(['sync', 'list']);
  });

  it('answers each request with its operation’s reply type, over a real transport', async () => {
    const worker = factory.open('worker');
    const handlers: BusHandlers<TerminalBusMessage, TerminalBusReplies> = {
      create: (m) => ({ session_id: `s-${m.user}`, created_at: '2026-12-07T00:00:00.000Z', worker: 'worker' }),
      attach: () => {
        throw new ServiceError('NOT_FOUND', 'No such terminal session.');
      },
      release: () => undefined,
      input: () => undefined,
      resize: () => undefined,
      ack: () => undefined,
      detach: () => undefined,
      close: () => ({}),
      info: (m) => m.session_ids.map((id) => ({ session_id: id }) as TerminalBusReplies['info'][number]),
      run: (m) => ({ session_id: `run-${m.user}`, worker: 'worker' }),
      outcome: () => ({
        reason: 'exit',
        exit_code: 0,
        signal: null,
        timed_out: false,
        output: '',
        output_bytes: 0,
        truncated: false,
      }),
      screen: (m) => ({ session_id: m.session_id, cols: 80, rows: 24, text: '' }),
    };
    worker.bus.serve((body) => dispatchBus(handlers, body as TerminalBusMessage));
    const gateway = busClient<TerminalBusMessage, TerminalBusReplies>(factory.open('gateway').bus);

    const created = await gateway.request(
      { worker: 'worker' },
      { op: 'create', user: 'alice', socket: 's', gateway: 'g', flow_control: false, cols: 80, rows: 24 },
    );
    expect(created.session_id).toBe('s-alice');
    // @ts-expect-error — a create's reply has no `seq`: that is an attach's
    expect(created.seq).toBeUndefined();

    const infos = await gateway.request({ worker: 'worker' }, { op: 'info', session_ids: ['a', 'b'], user: 'alice' });
    expect(infos.map((info) => info.session_id)).toEqual(['a', 'b']);

    await expect(
      gateway.request(
        { worker: 'worker' },
        { op: 'attach', session_id: 'x', user: 'alice', socket: 's', gateway: 'g', flow_control: false },
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
