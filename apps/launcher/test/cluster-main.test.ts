/**
 * `npm run cluster` as a person runs it: the real entry point, the printed URL and token,
 * Ctrl-C. Run as root, its shells get Unix accounts, which Ctrl-C must take away.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { connectClient, isolatedUids, OutputCollector, waitForValue } from '@ctos/testkit';

const IS_ROOT = process.geteuid?.() === 0;
const MAIN = path.join(__dirname, '..', 'dist', 'cluster-main.js');

describe('npm run cluster, stopped with Ctrl-C or by its terminal closing', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it.each(['SIGINT', 'SIGHUP'] as const)(
    'prints a working URL and token, and takes away on %s the accounts and homes its users got',
    async (signal) => {
      const uids = isolatedUids();
      child = spawn(process.execPath, [MAIN], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          PORT: '0',
          CLUSTER_GATEWAYS: '1',
          CLUSTER_TERMINAL_WORKERS: '1',
          CLUSTER_AI_WORKERS: '0',
          CLUSTER_MESSAGE_WORKERS: '0',
          CLUSTER_USER: 'newcomer',
          TERMINAL_SHELL: '/bin/bash',
          TERMINAL_SHELL_ARGS: '--norc --noprofile',
          ...uids.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let printed = '';
      child.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

      const url = (await waitForValue(() => /URL:\s+(\S+)/.exec(printed)?.[1], { timeoutMs: 60_000 }))!;
      const token = /localStorage\.setItem\('ctos\.token', '([^']+)'\)/.exec(printed)![1]!;
      const stateDir = path.dirname(/processes:\s+(\S+)/.exec(printed)![1]!);

      const socket = await connectClient(url, token);
      const created = await socket.emitWithAck('terminal:create', { cols: 120, rows: 30 });
      if (!created.success) throw new Error(`create failed: ${created.code}`);
      const out = new OutputCollector(socket, created.session_id);
      socket.emit('terminal:input', { session_id: created.session_id, data: 'echo "name=$(id -un) home=$HOME"\r' });
      await out.waitForText(/name=\S+ home=\S+\r\n/);
      const [, name, home] = /name=(\S+) home=(\S+)\r\n/.exec(out.text)!;
      socket.close();
      if (IS_ROOT) {
        expect(name).toMatch(/^newcomer-\d+$/);
        expect(spawnSync('getent', ['passwd', name!]).status).toBe(0);
        expect(existsSync(home!)).toBe(true);
      }

      child.kill(signal);
      expect(await exited).toBe(0);
      if (IS_ROOT) {
        expect(spawnSync('getent', ['passwd', name!]).status).toBe(2);
        expect(existsSync(home!)).toBe(false);
      }
      // The folder stays for its logs; the accounts and homes do not.
      expect(existsSync(path.join(stateDir, 'logs'))).toBe(true);
      spawnSync('rm', ['-rf', stateDir]);
    },
  );
});
