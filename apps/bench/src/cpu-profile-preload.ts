import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { cpuProfileDirFromEnv, PROFILE_CUT_SIGNAL } from './config';

/**
 * Loaded with `node --require` (through NODE_OPTIONS, which refuses `--cpu-prof` itself)
 * into each process under test when BENCH_CPU_PROFILE is on: samples the CPU from start
 * and writes `CPU.<date>.<time>.<pid>.0.<window>.cpuprofile` into the profile folder,
 * the file name `node --cpu-prof` would use, so profile-summary.ts reads both. A window
 * ends at PROFILE_CUT_SIGNAL (the next one starts at once) and at exit; the benchmark
 * files each window under the figure it covered (figure-profiles.ts).
 */

/** Sampling period (µs): fine enough to see a per-chunk function, cheap enough not to skew the figures. */
const SAMPLING_INTERVAL_US = 500;

const dir = cpuProfileDirFromEnv();
if (dir) {
  const session = new Session();
  let window = 0;
  const save = (profile: object): void => {
    window++;
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '.').slice(0, 15);
    const file = path.join(dir, `CPU.${stamp}.${process.pid}.0.${String(window).padStart(3, '0')}.cpuprofile`);
    // Written under another name first: the benchmark takes every *.cpuprofile it sees as complete.
    writeFileSync(`${file}.partial`, JSON.stringify(profile));
    renameSync(`${file}.partial`, file);
  };
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  process.on(PROFILE_CUT_SIGNAL, () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) save(result.profile); // no profile this window; the benchmark reports the process without one
      session.post('Profiler.start');
    });
  });
  process.on('exit', () => {
    // The in-thread inspector answers synchronously, so the profile is written before exit.
    session.post('Profiler.stop', (error, result) => {
      if (!error) save(result.profile); // no profile this time; the benchmark reports the process without one
    });
  });
}
