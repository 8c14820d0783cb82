import { createLogger } from '@ctos/runtime';
import { createTerminalWorker, loadTerminalWorkerConfig, type TerminalWorker } from '@ctos/terminal-worker';
import { BUILDS, transportFactory, waitForValue, type TransportFactory } from '@ctos/testkit';
import { SessionDirectory, type Transport } from '@ctos/transport';
import { Registry } from 'prom-client';
import { runTool, type ToolContext } from '../src/tools';

const HEARTBEAT = { intervalMs: 1000, missedBeats: 3 };

describe.each(BUILDS)("the assistant's tools against a terminal-worker (%s)", (build) => {
  let factory: TransportFactory;
  let worker: TerminalWorker;
  let ai: Transport;
  const context = (user: string, run = { timeoutMs: 20_000, maxOutputBytes: 16_384 }): ToolContext => ({
    user,
    bus: ai.bus,
    directory: new SessionDirectory(ai.store, 'term'),
    run,
  });

  beforeAll(async () => {
    factory = transportFactory(build, HEARTBEAT, 'tools');
    worker = createTerminalWorker({
      id: `terminal-${factory.prefix}`,
      transport: factory.open(`terminal-${factory.prefix}`),
      config: loadTerminalWorkerConfig({
        TERMINAL_ISOLATION: 'none',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
      }),
      logger: createLogger({ service: 'terminal-worker', level: 'silent' }),
      metrics: new Registry(),
    });
    worker.start();
    ai = factory.open(`ai-${factory.prefix}`);
  });
  afterAll(async () => {
    await worker.drain();
    await factory.cleanup();
  });

  it('runs a command for the user, tells where it runs, and gives its exit code and output', async () => {
    const started: string[] = [];
    const result = await runTool(
      'run_command',
      { command: 'uname -s' },
      { ...context('ann'), started: (id) => started.push(id) },
    );
    expect(result).toEqual({ content: 'Exit code: 0\nOutput:\nLinux', is_error: false, session_id: started[0] });
    const failed = await runTool('run_command', { command: 'echo oops >&2; exit 7' }, context('ann'));
    expect(failed).toMatchObject({ content: 'Exit code: 7\nOutput:\noops', is_error: false });
  });

  it('answers bad input, an unknown tool, a timeout and an output over the cap with a clear result', async () => {
    for (const input of [{}, { command: '' }, { command: 'ls', extra: 1 }, { command: 'ls x\u0000y' }, 'ls', null]) {
      const result = await runTool('run_command', input, context('ann'));
      expect(result.is_error).toBe(true);
      expect(result.content).toMatch(/^Invalid input: /);
    }
    expect(await runTool('rm_rf', {}, context('ann'))).toEqual({
      content: 'There is no tool named rm_rf.',
      is_error: true,
    });
    const slow = await runTool(
      'run_command',
      { command: 'echo begun; sleep 30' },
      context('ann', { timeoutMs: 300, maxOutputBytes: 1000 }),
    );
    expect(slow).toMatchObject({
      is_error: true,
      content: 'Stopped after 300 ms (the timeout): it had not finished.\nOutput:\nbegun',
    });
    const long = await runTool(
      'run_command',
      { command: 'seq 1 5000' },
      context('ann', { timeoutMs: 20_000, maxOutputBytes: 500 }),
    );
    expect(long.content).toMatch(/^Exit code: 0\nOutput \(\d+ bytes in all; only the last 500 bytes are shown\):\n/);
    expect(long.content.endsWith('\n4999\n5000')).toBe(true);
  });

  it("reads the user's terminal (the latest one when none is named), and never another user's", async () => {
    const started: string[] = [];
    const background = runTool(
      'run_command',
      { command: "printf 'first\\nsecond\\n'; sleep 2" },
      { ...context('bea'), started: (id) => started.push(id) },
    );
    const sessionId = await waitForValue(() => started[0], { message: 'the command to start' });
    const named = await waitForValue(
      async () => {
        const result = await runTool('read_terminal', { session_id: sessionId }, context('bea'));
        return result.content.includes('second') ? result : undefined;
      },
      { message: 'the screen to show what was printed' },
    );
    expect(named).toEqual({
      content: `Terminal ${sessionId}, 120×32:\nfirst\nsecond`,
      is_error: false,
      session_id: sessionId,
    });
    expect(await runTool('read_terminal', {}, context('bea'))).toEqual(named);
    expect(await runTool('read_terminal', { session_id: sessionId }, context('cal'))).toEqual({
      content: 'No such terminal session of this user.',
      is_error: true,
    });
    expect(await runTool('read_terminal', {}, context('cal'))).toEqual({
      content: 'This user has no terminal session open.',
      is_error: true,
    });
    await background;
  });
});
