import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROFILE_CUT_SIGNAL, type FigureId } from './config';
import { killQuietly } from './owned-processes';
import { formatProfile, profilePid, summarizeProfile, type ProfileSummary } from './profile-summary';

/** How long a process may take to write its profile once told to (ms): a long window's profile on a busy box. */
const WRITE_TIMEOUT_MS = 30_000;
/** How often the profile folder is looked at while waiting for profiles (ms). */
const POLL_MS = 50;
/** The preload that makes a process profile itself (NODE_OPTIONS refuses `--cpu-prof`). */
const PRELOAD = path.join(__dirname, 'cpu-profile-preload.js');

/** A process under test that runs the preload: its PID, and the name its profiles are filed under. */
export interface ProfiledProcess {
  pid: number;
  name: string;
}

/** One process's profile of one figure, summarised. */
export type FiledProfile = ProfileSummary & { process: string };

/** The environment that makes a Node process under test profile itself into `dir`; nothing when `dir` is undefined. */
export function profilingEnv(dir: string | undefined): Record<string, string> {
  return dir ? { NODE_OPTIONS: `--require ${PRELOAD}`, BENCH_CPU_PROFILE_DIR: dir } : {};
}

/** Whether process `pid` still runs (signal 0 tests without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false; // ESRCH: it has exited
  }
}

/** `<folder>/<name>.cpuprofile`, or `<name>-2.cpuprofile`… when the process already has a profile of this figure. */
function freeFile(folder: string, name: string): string {
  for (let n = 1; ; n++) {
    const file = path.join(folder, `${n === 1 ? name : `${name}-${n}`}.cpuprofile`);
    if (!existsSync(file)) return file;
  }
}

/**
 * CPU profiles per figure. Every profiled process writes the window it has sampled when
 * sent PROFILE_CUT_SIGNAL (cpu-profile-preload.ts). Around each figure the windows are
 * cut: what came before (start-up, the figure before) is dropped, and what the figure
 * took is filed as `<dir>/<figure>/<process>.cpuprofile`.
 */
export class FigureProfiles {
  constructor(
    private readonly dir: string,
    /** The processes running the preload right now. */
    private readonly processes: () => ProfiledProcess[],
    private readonly progress: (message: string) => void,
  ) {}

  /** Runs `step` (a figure, or one system's part of it) in a profile window of its own. */
  async around<T>(figure: FigureId, step: () => Promise<T>): Promise<T> {
    await this.cut();
    this.dropLoose();
    try {
      return await step();
    } finally {
      this.file(figure, await this.cut());
    }
  }

  /**
   * Drops the windows no figure took (those written at exit), writes `summary.txt` beside
   * each figure's profiles, and returns the summaries by figure.
   */
  finish(): Record<string, FiledProfile[]> {
    this.dropLoose();
    const byFigure: Record<string, FiledProfile[]> = {};
    for (const entry of readdirSync(this.dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const folder = path.join(this.dir, entry.name);
      const filed: FiledProfile[] = [];
      for (const file of readdirSync(folder).filter((f) => f.endsWith('.cpuprofile'))) {
        try {
          filed.push({ ...summarizeProfile(path.join(folder, file)), process: path.basename(file, '.cpuprofile') });
        } catch (error) {
          this.progress(`  ! could not read ${file}: ${(error as Error).message}`);
        }
      }
      writeFileSync(
        path.join(folder, 'summary.txt'),
        `${filed.map((s) => formatProfile(s, s.process)).join('\n\n')}\n`,
      );
      this.progress(
        `profiles of ${entry.name} (${path.join(folder, 'summary.txt')}): ${filed.map((s) => `${s.process} busy ${s.busyMs.toFixed(0)} ms`).join(', ')}`,
      );
      byFigure[entry.name] = filed;
    }
    return byFigure;
  }

  /**
   * Ends the window of every profiled process and waits until each has written it (or
   * has exited). @returns the name of every process listed, by PID.
   */
  private async cut(): Promise<Map<number, string>> {
    const listed = this.processes();
    const running = listed.filter((p) => alive(p.pid));
    for (const { pid } of running) killQuietly(pid, PROFILE_CUT_SIGNAL);
    const waiting = (): ProfiledProcess[] => {
      const written = new Set(this.loose().map(profilePid));
      return running.filter((p) => !written.has(p.pid) && alive(p.pid));
    };
    const deadline = Date.now() + WRITE_TIMEOUT_MS;
    while (waiting().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const late = waiting();
    if (late.length > 0) {
      this.progress(`  ! no profile from ${late.map((p) => p.name).join(', ')} within ${WRITE_TIMEOUT_MS} ms`);
    }
    return new Map(listed.map((p) => [p.pid, p.name]));
  }

  /** Profiles written and not filed yet. */
  private loose(): string[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.cpuprofile'));
  }

  private dropLoose(): void {
    for (const file of this.loose()) rmSync(path.join(this.dir, file), { force: true });
  }

  /** Files every loose profile under `figure`, named after its process. */
  private file(figure: FigureId, names: Map<number, string>): void {
    const folder = path.join(this.dir, figure);
    mkdirSync(folder, { recursive: true });
    for (const file of this.loose()) {
      const pid = profilePid(file);
      const name = (pid !== undefined ? names.get(pid) : undefined) ?? `pid-${pid ?? 'unknown'}`;
      renameSync(path.join(this.dir, file), freeFile(folder, name));
    }
  }
}
