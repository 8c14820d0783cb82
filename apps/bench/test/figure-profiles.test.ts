import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FigureProfiles } from '../src/figure-profiles';

/** The compiled preload, as the processes under test load it (jest maps the package to src/, which has no .js). */
const PRELOAD = path.resolve(__dirname, '..', 'dist', 'cpu-profile-preload.js');

describe('CPU profiles per figure', () => {
  it('file each figure’s window under the figure, named after its process, with a summary beside them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-profiles-'));
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("ready")'], {
      env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: `--require ${PRELOAD}`, BENCH_CPU_PROFILE_DIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await once(child.stdout!, 'data'); // the preload has run: the cut signal is handled
      const profiles = new FigureProfiles(
        dir,
        () => [{ pid: child.pid!, name: 'worker' }],
        () => undefined,
      );
      await profiles.around('keystroke', async () => undefined);
      await profiles.around('throughput', async () => undefined);
      const summaries = profiles.finish();

      expect(Object.keys(summaries).sort()).toEqual(['keystroke', 'throughput']);
      expect(summaries.keystroke!.map((s) => s.process)).toEqual(['worker']);
      expect(existsSync(path.join(dir, 'throughput', 'worker.cpuprofile'))).toBe(true);
      expect(readFileSync(path.join(dir, 'keystroke', 'summary.txt'), 'utf8')).toMatch(/^worker: busy \d+ ms/);
      // The windows before and between the figures (start-up) are dropped.
      expect(readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))).toEqual([]);
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
