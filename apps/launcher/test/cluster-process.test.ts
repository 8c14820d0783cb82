import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ManagedProcess } from '../src/cluster-process';

describe('a process the cluster launcher manages', () => {
  let dir: string;
  const started: ManagedProcess[] = [];
  const start = (name: string, script: string): ManagedProcess => {
    const child = new ManagedProcess({
      name,
      role: 'test',
      command: process.execPath,
      args: ['-e', script],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      logFile: path.join(dir, `${name}.log`),
    });
    started.push(child);
    return child;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ctos-managed-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop(1000)));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the ports its JSON log lines announce, by message', async () => {
    const child = start(
      'announcer',
      `console.log(JSON.stringify({ msg: 'producer API listening', port: 8091 }));
       console.log('not json, mentions "listening"');
       console.log(JSON.stringify({ msg: 'listening', port: 9103 }));
       setInterval(() => {}, 1000);`,
    );
    expect(await child.waitForPorts(['listening', 'producer API listening'])).toEqual([9103, 8091]);
    expect(child.tail()).toContain('not json');
    await child.stop(1000);
    expect(readFileSync(child.spec.logFile, 'utf8')).toContain('not json');
  });

  it('fails at once, with its last lines, when it exits before announcing', async () => {
    const child = start('crasher', `console.error('REDIS_URL: required'); process.exit(2);`);
    await expect(child.waitForPorts(['listening'])).rejects.toThrow(/crasher exited before .*REDIS_URL: required/s);
    expect(child.exit).toEqual({ code: 2, signal: null });
  });

  it('fails at once when the program does not exist, and never signals a pid it does not have', async () => {
    const child = new ManagedProcess({
      name: 'missing',
      role: 'test',
      command: path.join(dir, 'no-such-program'),
      args: [],
      env: {},
      logFile: path.join(dir, 'missing.log'),
    });
    started.push(child);
    expect(child.pid).toBe(0);
    child.signal('SIGKILL');
    await expect(child.waitForLine(() => true, 'anything')).resolves.toContain('could not start');
    await expect(child.waitForPorts(['listening'])).rejects.toThrow(/missing exited/);
  });

  it('is killed when it ignores SIGTERM for longer than the stop timeout', async () => {
    const child = start(
      'stubborn',
      `process.on('SIGTERM', () => {}); console.log(JSON.stringify({ msg: 'listening', port: 1 })); setInterval(() => {}, 1000);`,
    );
    await child.waitForPorts(['listening']);
    expect(await child.stop(200)).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
