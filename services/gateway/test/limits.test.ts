import { startEmbedded, type Embedded } from '@ctos/launcher';
import { createLogger } from '@ctos/runtime';
import { connectClient, OutputCollector, signToken, TEST_JWT_SECRET, type ClientSocket } from '@ctos/testkit';

/** Small limits, so each is quick to reach; the defaults are in the README. */
const LIMITS = {
  GATEWAY_MAX_SOCKETS_PER_USER: '3',
  GATEWAY_MAX_SOCKETS_PER_ADDRESS: '8',
  TERMINAL_INPUT_BYTES_PER_SECOND: '1000',
  TERMINAL_INPUT_BURST_BYTES: '2000',
  GATEWAY_EVENTS_PER_SECOND: '5',
  GATEWAY_EVENTS_BURST: '10',
};

describe('limits that keep one user from starving the rest', () => {
  let system: Embedded;
  const sockets: ClientSocket[] = [];
  const connect = async (user: string) => {
    const socket = await connectClient(system.url, await signToken(user));
    sockets.push(socket);
    return socket;
  };
  const refusal = async (user: string) => {
    try {
      await connect(user);
    } catch (error) {
      return (error as { data?: { code?: string } }).data?.code;
    }
    return 'accepted';
  };

  beforeEach(async () => {
    system = await startEmbedded({
      env: {
        PORT: '0',
        AUTH_JWT_SECRET: TEST_JWT_SECRET,
        WEB_DIST_DIR: '/nonexistent',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
        ...LIMITS,
      },
      logger: (service) => createLogger({ service, level: 'silent' }),
    });
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await system.stop();
  });

  it('refuses a user past their connections with LIMIT_EXCEEDED, and not anyone else', async () => {
    const first = await connect('greedy');
    await connect('greedy');
    await connect('greedy');
    await expect(refusal('greedy')).resolves.toBe('LIMIT_EXCEEDED');
    await expect(refusal('modest')).resolves.toBe('accepted');
    first.close();
    await expect(refusal('greedy')).resolves.toBe('accepted');
  });

  it('refuses an address past its connections', async () => {
    for (let i = 0; i < 8; i++) await connect(`user-${i}`);
    await expect(refusal('one-more')).resolves.toBe('LIMIT_EXCEEDED');
  });

  it('rate-limits request events per socket, and another user is served', async () => {
    const storm = await connect('storm');
    const answers = await Promise.all(Array.from({ length: 30 }, () => storm.emitWithAck('terminal:list', {})));
    const limited = answers.filter((a) => !a.success && a.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThanOrEqual(15);
    expect(answers.filter((a) => a.success).length).toBeGreaterThanOrEqual(10);
    const calm = await connect('calm');
    await expect(calm.emitWithAck('terminal:list', {})).resolves.toMatchObject({ success: true });
  });

  it('rate-limits terminal input per socket while another user types on undisturbed', async () => {
    const flooder = await connect('flooder');
    const calm = await connect('calm');
    const open = async (socket: ClientSocket) => {
      const created = await socket.emitWithAck('terminal:create', { cols: 80, rows: 24 });
      if (!created.success) throw new Error(created.error);
      return new OutputCollector(socket, created.session_id);
    };
    const flood = await open(flooder);
    const mine = await open(calm);
    const answers = [];
    for (let i = 0; i < 10; i++) {
      answers.push(
        await flooder.emitWithAck('terminal:input', { session_id: flood.sessionId, data: `#${'x'.repeat(498)}\r` }),
      );
    }
    expect(answers.filter((a) => !a.success).map((a) => !a.success && a.code)).toContain('RATE_LIMITED');
    expect(answers.slice(0, 4).every((a) => a.success)).toBe(true); // the burst is allowed
    calm.emit('terminal:input', { session_id: mine.sessionId, data: 'echo unaffected\r' });
    await mine.waitForText(/[\r\n]unaffected\r\n/);
  });
});
