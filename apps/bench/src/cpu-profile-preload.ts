import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { cpuProfileDirFromEnv } from './config';

/**
 * Loaded with `node --require` (through NODE_OPTIONS, which refuses `--cpu-prof` itself)
 * into each process under test when BENCH_CPU_PROFILE is on: samples the CPU from start
 * to exit and writes `CPU.<pid>.cpuprofile` into the profile folder, the file name
 * `node --cpu-prof` would use, so profile-summary.ts reads both.
 */

/** Sampling period (µs): fine enough to see a per-chunk function, cheap enough not to skew the figures. */
const SAMPLING_INTERVAL_US = 500;

const dir = cpuProfileDirFromEnv();
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  process.on('exit', () => {
    // The in-thread inspector answers synchronously, so the profile is written before exit.
    session.post('Profiler.stop', (error, result) => {
      if (error) return; // no profile this time; the benchmark reports the process without one
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '.').slice(0, 15);
      writeFileSync(path.join(dir, `CPU.${stamp}.${process.pid}.0.001.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
