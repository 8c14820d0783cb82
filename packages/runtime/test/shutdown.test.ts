/**
 * How a process stops (exitOnSignal, createLogger's destination), on a real child process
 * running the compiled runtime: within its drain cap whatever its standard output's reader
 * does, at once on a second signal, and not cut short by the same signal delivered twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { waitFor } from '@ctos/testkit';

const PROBE = path.join(__dirname, 'fixtures', 'stop-probe.mjs');

/** The product's window within which a repeated signal is the same request (shutdown.ts). */
const SAME_REQUEST_MS = 1000;

interface Probe {
  child: ChildProcess;
  /** What it printed on stderr (its own progress notes). */
  stderr: () => string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
}

/** Starts the probe; stdout is a pipe this test never reads, unless `readStdout`. */
async function startProbe(args: string[], readStdout: boolean): Promise<Probe> {
  const child = spawn(process.execPath, [PROBE, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  if (readStdout) child.stdout!.resume();
  else child.stdout!.pause();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const probe = { child, stderr: () => stderr, exited };
  probes.push(probe);
  await waitFor(() => stderr.includes('ready\n') || child.exitCode !== null, { message: 'the probe to start' });
  return probe;
}

const probes: Probe[] = [];
afterEach(async () => {
  for (const probe of probes.splice(0)) {
    if (probe.child.exitCode === null && probe.child.signalCode === null) probe.child.kill('SIGKILL');
    await probe.exited;
  }
});

describe('stopping a process', () => {
  it('drains and exits 0 when standard output is full and never read', async () => {
    // 4 MiB of log lines into a pipe nobody reads: a blocking write would hang right here.
    const probe = await startProbe(['quick', '10000', 'flood'], false);
    expect(probe.stderr()).toContain('flooded\n');
    probe.child.kill('SIGTERM');
    expect(await probe.exited).toBe(0);
    expect(probe.stderr()).toContain('draining\n');
  });

  it('says how many lines it dropped once read again, and still writes its last line before exit', async () => {
    const probe = await startProbe(['quick', '10000', 'flood'], false);
    let stdout = '';
    probe.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    probe.child.stdout!.resume();
    await waitFor(() => /"dropped_lines":[1-9]\d*,"msg":"log lines dropped/.test(stdout), {
      message: 'the dropped-lines notice',
    });
    probe.child.kill('SIGTERM');
    expect(await probe.exited).toBe(0);
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { msg: string; i?: number });
    expect(lines.slice(-3).map((line) => line.msg)).toEqual(['shutting down', 'drained', 'stopped']);
    // The fillers kept are the first ones logged, in order, with no line cut or repeated.
    const kept = lines.filter((line) => line.msg === 'filler').map((line) => line.i);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(4096);
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => i));
  });

  it('exits 1 when the drain outlasts its cap, even with standard output unread', async () => {
    const probe = await startProbe(['never', '300', 'flood'], false);
    probe.child.kill('SIGTERM');
    expect(await probe.exited).toBe(1);
  });

  it('exits at once on a second signal during a drain', async () => {
    const probe = await startProbe(['never', '600000'], true);
    probe.child.kill('SIGTERM');
    await waitFor(() => probe.stderr().includes('draining\n'), { message: 'the drain to start' });
    await sleep(SAME_REQUEST_MS); // the window is the product's rule: wait it out
    probe.child.kill('SIGINT');
    expect(await probe.exited).toBe(1);
  });

  it('takes the same signal delivered twice (npm forwarding Ctrl-C) as one request', async () => {
    const probe = await startProbe(['stdin', '600000'], true);
    probe.child.kill('SIGINT');
    probe.child.kill('SIGINT');
    await waitFor(() => probe.stderr().includes('draining\n'), { message: 'the drain to start' });
    probe.child.stdin!.write('finish\n');
    expect(await probe.exited).toBe(0);
  });
});
