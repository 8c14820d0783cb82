/**
 * The leak check (testing/testkit/src/leak-check-environment.ts) fails a test file that
 * leaves a timer, a socket, a server, a child process or a Redis connection behind, passes
 * one that releases them, and never hides a real failure behind a leak. Proved by running
 * jest on the fixture files in `leak-fixtures/`, each of which leaks one thing (or none).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, SHARED_REDIS_URL } from '../src';

const FIXTURES = path.join(__dirname, 'leak-fixtures');

/** What jest's `--json` report says of one test file. */
interface FileReport {
  status: 'passed' | 'failed';
  message: string;
}

const FIXTURE_NAMES = ['child', 'clean', 'core-timers', 'detached', 'failing', 'redis', 'server', 'timer'];

const reports = new Map<string, FileReport>();
const stderrs = new Map<string, string>();

/**
 * Runs jest on one fixture file, alone (in one process, leaks cannot add up or be counted
 * against another file), with the suite's own settings but the fixtures as its tests.
 * `--forceExit`: a leaking file would otherwise keep its jest alive.
 */
async function runFixture(name: string, out: string): Promise<void> {
  const suite = ((await import(path.join(REPO_ROOT, 'jest.config.js'))) as { default: Record<string, unknown> })
    .default;
  const config = {
    rootDir: FIXTURES,
    transform: suite.transform,
    transformIgnorePatterns: suite.transformIgnorePatterns,
    moduleNameMapper: suite.moduleNameMapper,
    testEnvironment: path.join(REPO_ROOT, 'testing/testkit/src/leak-check-environment.ts'),
    testMatch: ['<rootDir>/*.fixture.ts'],
  };
  const jest = path.join(REPO_ROOT, 'node_modules/jest/bin/jest.js');
  const reportFile = path.join(out, `${name}.json`);
  const args = [
    jest,
    '--config',
    JSON.stringify(config),
    '--json',
    `--outputFile=${reportFile}`,
    '--ci',
    '--forceExit',
  ];
  args.push('--runTestsByPath', path.join(FIXTURES, `${name}.fixture.ts`));
  const stderr = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: REPO_ROOT, env: { ...process.env, LEAK_FIXTURE_REDIS_URL: SHARED_REDIS_URL } },
      (_error, _stdout, errors) => resolve(errors),
    );
  });
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    testResults: Array<{ status: 'passed' | 'failed'; message: string }>;
  };
  const [file] = report.testResults;
  if (file) reports.set(name, { status: file.status, message: file.message });
  stderrs.set(name, stderr);
}

beforeAll(async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'ctos-leak-check-'));
  try {
    await Promise.all(FIXTURE_NAMES.map((name) => runFixture(name, out)));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 120_000);

/** The lines of a file's leak report (after the heading), e.g. `1 × child process (ProcessWrap)`. */
function leaked(fixture: string): string[] {
  const report = reports.get(fixture);
  expect(report?.status).toBe('failed');
  const message = report!.message;
  expect(message).toContain('leak check: this test file left running after its last afterAll:');
  return [...message.matchAll(/^\s*(\d+ × .+\(\w+\))$/gm)].map((match) => match[1]!).sort();
}

describe('the leak check', () => {
  it('ran every fixture', () => {
    expect([...reports.keys()].sort()).toEqual(FIXTURE_NAMES);
  });

  it('fails a file that leaves a timer running', () => {
    expect(leaked('timer')).toEqual(['1 × timer (setTimeout/setInterval) (Timeout)']);
  });

  it('fails a file that leaves a listening server and a connection open', () => {
    expect(leaked('server')).toEqual([
      '1 × listening TCP server (TCPServerWrap)',
      '2 × TCP connection (a Redis, Socket.IO or HTTP client or server side) (TCPSocketWrap)',
    ]);
  });

  it('fails a file that leaves timers made through node:timers, timers/promises or promisify(setTimeout)', () => {
    expect(leaked('core-timers')).toEqual(['4 × timer (setTimeout/setInterval) (Timeout)']);
  });

  it("fails a file that leaves a detached, unref'd child process running, and names its pid", () => {
    const lines = leaked('detached');
    const pid = Number(/pid (\d+)/.exec(lines.join('\n'))?.[1]);
    try {
      expect(lines).toEqual([`1 × child process started by the file, still running: pid ${pid} (ChildProcess)`]);
    } finally {
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });

  it('fails a file that leaves a child process running', () => {
    expect(leaked('child')).toContain('1 × child process (ProcessWrap)');
  });

  it('fails a file that leaves a Redis connection open', () => {
    expect(leaked('redis')).toEqual([
      '1 × TCP connection (a Redis, Socket.IO or HTTP client or server side) (TCPSocketWrap)',
    ]);
  });

  it('passes a file that releases everything it started', () => {
    expect(reports.get('clean')).toEqual({ status: 'passed', message: '' });
  });

  it('shows a failed test as it is, and prints what it left without counting it', () => {
    const report = reports.get('failing');
    expect(report?.status).toBe('failed');
    expect(report?.message).toContain('what jest must show');
    expect(report?.message).not.toContain('leak check');
    const printed = stderrs.get('failing');
    expect(printed).toContain('leak check: this test file left running after its last afterAll:');
    expect(printed).toContain('1 × timer (setTimeout/setInterval) (Timeout)');
    expect(printed).toContain('(not counted as a failure: a test of this file failed)');
  });
});
