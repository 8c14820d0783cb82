import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) that the summary reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }>;
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Self time of one function or one module, in ms and as a share of the busy (non-idle) time. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  /** Share of busy time (0–1): idle time is left out, so the shares say where the work went. */
  share: number;
}

/** Where one process spent its time. */
export interface ProfileSummary {
  file: string;
  pid: number | undefined;
  /** Profiled wall time (ms). */
  wallMs: number;
  /** Time not idle (ms): the process's CPU work, roughly. */
  busyMs: number;
  /** Busiest functions by self time. */
  functions: ProfileEntry[];
  /** Self time by package or file (`socket.io-parser`, `ioredis`, `gateway/src/bind-event.ts`, `(garbage collector)`…). */
  modules: ProfileEntry[];
}

/** Frames V8 reports that are not code: idle is left out of the shares. */
const IDLE = '(idle)';

/** The package (`ws`, `@socket.io/redis-adapter`) or repository file a script URL belongs to. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const inModules = url.lastIndexOf('node_modules/');
  if (inModules >= 0) {
    const parts = url.slice(inModules + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  const match = /\/(packages|services)\/([^/]+)\/dist\/(.+)$/.exec(url);
  return match ? `${match[2]}/${match[3]}` : path.basename(url);
}

/** The PID in the name node gives a profile (`CPU.<date>.<time>.<pid>.<tid>.<n>.cpuprofile`), if it has one. */
export function profilePid(file: string): number | undefined {
  const pid = /\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(path.basename(file))?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Summarises one `.cpuprofile`: self time per function and per module, `top` of each.
 * The PID comes from the file name node gives it ({@link profilePid}).
 * @throws Error when the file is not a CPU profile.
 */
export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  if (!Array.isArray(profile.nodes)) throw new Error(`${file} is not a CPU profile`);
  const totalHits = profile.nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0);
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const msPerHit = totalHits > 0 ? wallMs / totalHits : 0;
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let idleHits = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === IDLE) {
      idleHits += hits;
      continue;
    }
    const module = moduleOf(url, functionName);
    const name = `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    byModule.set(module, (byModule.get(module) ?? 0) + hits);
  }
  const busyHits = totalHits - idleHits;
  const rank = (counts: Map<string, number>): ProfileEntry[] =>
    [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, hits]) => ({ name, selfMs: hits * msPerHit, share: busyHits > 0 ? hits / busyHits : 0 }));
  return {
    file,
    pid: profilePid(file),
    wallMs,
    busyMs: busyHits * msPerHit,
    functions: rank(byFunction),
    modules: rank(byModule),
  };
}

/** A summary as text: busy time, then the top modules and functions with their shares. */
export function formatProfile(summary: ProfileSummary, title: string): string {
  const line = (entry: ProfileEntry): string =>
    `    ${(entry.share * 100).toFixed(1).padStart(5)} %  ${entry.selfMs.toFixed(0).padStart(6)} ms  ${entry.name}`;
  return [
    `${title}: busy ${summary.busyMs.toFixed(0)} ms of ${summary.wallMs.toFixed(0)} ms profiled`,
    '  by module (self time):',
    ...summary.modules.map(line),
    '  by function (self time):',
    ...summary.functions.map(line),
  ].join('\n');
}

/** `node profile-summary.js FILE.cpuprofile…`: prints where each profiled process spent its time. */
function cli(files: string[]): void {
  for (const file of files) process.stdout.write(`${formatProfile(summarizeProfile(file), path.basename(file))}\n\n`);
}

if (require.main === module) cli(process.argv.slice(2));
