/**
 * Issue 15 on the process cluster: every user's shells run under that user's own Unix
 * account. These tests create Unix accounts and need root; the cluster removes the
 * accounts it created when it stops (checked last).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '@ctos/runtime';
import { type ClientSocket, connectClient, isolatedUids, OutputCollector, waitFor, waitForValue } from '@ctos/testkit';
import { startCluster, type Cluster } from '../src/cluster';

const IS_ROOT = process.geteuid?.() === 0;

/** Processes one user may run in these tests: low, so the fork bomb stops early. */
const MAX_PROCESSES = 40;

/** A shell of one user, driven line by line. */
class Shell {
  private commands = 0;

  constructor(
    readonly socket: ClientSocket,
    readonly out: OutputCollector,
  ) {}

  get sessionId(): string {
    return this.out.sessionId;
  }

  /** Runs `command` (stderr included) and returns what it printed, without the echo and prompts. */
  async run(command: string, timeoutMs = 20_000): Promise<string> {
    const n = ++this.commands;
    // Split in the typed text, whole in the output: the echo of the line never matches.
    const begin = `__BEGIN_${n}__`;
    const end = `__END_${n}__`;
    const from = this.out.text.length;
    this.socket.emit('terminal:input', {
      session_id: this.sessionId,
      // `x & ;` is a syntax error: a command that ends in `&` gets a no-op after it.
      data: `echo "__BE""GIN_${n}__"; { ${command.trimEnd().endsWith('&') ? `${command} :` : command} ; } 2>&1; echo "__E""ND_${n}__"\r`,
    });
    await waitFor(() => this.out.text.indexOf(`${end}\r\n`, from) >= 0, {
      timeoutMs,
      message: `the output of ${JSON.stringify(command)} (got ${JSON.stringify(this.out.text.slice(from).slice(-300))})`,
    });
    const text = this.out.text.slice(from);
    const start = text.indexOf(`${begin}\r\n`) + begin.length + 2;
    return text.slice(start, text.indexOf(`${end}\r\n`)).replace(/\r/g, '');
  }
}

/** The real uid of a process, from /proc. */
function uidOf(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

/** Live (not zombie) processes whose real uid is `uid`. */
function processesOf(uid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        return Number(/^Uid:\s+(\d+)/m.exec(status)![1]) === uid && !/^State:\s+Z/m.test(status);
      } catch {
        return false; // exited while we looked
      }
    })
    .map(Number);
}

/** A process's command line, arguments joined by spaces ('' once it is gone). */
function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** `getent passwd name`, or undefined when there is no such account. */
function passwdEntry(name: string): string | undefined {
  try {
    return execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe('terminal isolation on the process cluster', () => {
  if (!IS_ROOT) {
    it('needs root: these tests create Unix accounts and change uid (run npm test as root, as CI does)', () => {
      throw new Error(`not run as root (uid ${process.geteuid?.()}): the isolation tests cannot run`);
    });
    return;
  }

  let cluster: Cluster;
  const sockets: ClientSocket[] = [];
  const accountNames = new Set<string>();
  const uids = isolatedUids();

  const shellOf = async (user: string): Promise<Shell> => {
    const socket = await connectClient(cluster.url, await cluster.signToken(user));
    sockets.push(socket);
    const response = await socket.emitWithAck('terminal:create', { cols: 200, rows: 50 });
    if (!response.success)
      throw new Error(`create failed for ${JSON.stringify(user)}: ${response.code} ${response.error}`);
    const shell = new Shell(socket, new OutputCollector(socket, response.session_id));
    accountNames.add((await shell.run('id -un')).trim());
    return shell;
  };
  const workerPids = (): number[] =>
    cluster
      .processes()
      .filter((p) => p.role === 'terminal-worker' && !p.exit)
      .map((p) => p.pid);

  /** Supplementary groups the services inherit, as container images often give (P19, docs/pitfalls.md): none may reach a shell. */
  const WORKER_GROUPS = [4, 27];
  let ownGroups: number[] = [];

  /** An account of this machine that already has the range's first uid: it must be skipped. */
  const squatter = `squat${uids.uidMin}`;

  beforeAll(async () => {
    execFileSync('useradd', ['--uid', String(uids.uidMin), '--no-create-home', '--no-log-init', squatter]);
    ownGroups = process.getgroups!();
    process.setgroups!([...ownGroups, ...WORKER_GROUPS]);
    cluster = await startCluster({
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: '0',
        LOG_LEVEL: 'warn',
        CLUSTER_GATEWAYS: '1',
        CLUSTER_AI_WORKERS: '0',
        CLUSTER_MESSAGE_WORKERS: '0',
        TERMINAL_SHELL: '/bin/bash',
        TERMINAL_SHELL_ARGS: '--norc --noprofile',
        TERMINAL_MAX_PROCESSES_PER_USER: String(MAX_PROCESSES),
        ...uids.env,
      },
      logger: createLogger({ service: 'isolation-test', level: 'silent' }),
    });
  });

  afterAll(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await cluster?.stop();
    process.setgroups!(ownGroups);
    execFileSync('userdel', ['--force', squatter]);
  });

  it('runs two users’ shells under different uids, neither the worker’s, each with its own home unreadable by the other', async () => {
    const alice = await shellOf('alice');
    const bob = await shellOf('bob');
    const [aliceUid, aliceGroups, aliceHome, aliceHomeStat] = (
      await alice.run('id -u; id -G; echo $HOME; stat -c "%u %a" "$HOME"')
    )
      .trim()
      .split('\n');
    const [bobUid, , bobHome] = (await bob.run('id -u; id -G; echo $HOME')).trim().split('\n');
    expect(aliceUid).not.toBe(bobUid);
    for (const pid of workerPids()) {
      expect([aliceUid, bobUid]).not.toContain(String(uidOf(pid)));
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^Groups:.*\b27\b/m);
    }
    // The range's first uid belongs to an account of this machine: never handed to a user.
    expect(Number(aliceUid)).toBeGreaterThan(uids.uidMin);
    expect(Number(bobUid)).toBeGreaterThan(uids.uidMin);
    expect(Number(aliceUid)).toBeLessThanOrEqual(uids.uidMax);
    expect(aliceGroups).toBe(aliceUid); // its private group only: the worker's groups cleared (P19)
    expect((await alice.run('grep Groups /proc/self/status')).trim()).toBe('Groups:');
    expect(aliceHomeStat).toBe(`${aliceUid} 700`);
    expect(aliceHome).not.toBe(bobHome);
    expect(await alice.run(`ls "${bobHome}"`)).toMatch(/Permission denied/);
    expect(await bob.run(`ls "${aliceHome}"`)).toMatch(/Permission denied/);
  });

  it('refuses a shell the environment of every service, the secret files, another user’s files, tty and processes', async () => {
    const alice = await shellOf('alice');
    const bob = await shellOf('bob');
    const servicePids = cluster
      .processes()
      .filter((p) => !p.exit)
      .map((p) => p.pid);
    for (const pid of servicePids) {
      expect(await alice.run(`cat /proc/${pid}/environ`)).toMatch(/Permission denied/);
    }
    // The launcher's state: cluster.json (the Redis URL), the secrets, the logs, Redis's data.
    const secretFiles = execFileSync(
      'find',
      [...['cluster.json', 'secrets', 'logs', 'redis'].map((name) => path.join(cluster.stateDir, name)), '-type', 'f'],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    expect(secretFiles).toContain(cluster.stateFile);
    for (const file of secretFiles) {
      expect(await alice.run(`cat "${file}" > /dev/null`)).toMatch(/Permission denied/);
    }

    const bobHome = (await bob.run('echo $HOME')).trim();
    await bob.run('echo top-secret > ~/notes.txt; chmod 644 ~/notes.txt');
    expect(await alice.run(`cat "${bobHome}/notes.txt"`)).toMatch(/Permission denied/);

    const bobTty = (await bob.run('tty')).trim();
    expect(bobTty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(await alice.run(`echo HELLO > ${bobTty}`)).toMatch(/Permission denied/);

    const bobShell = (await bob.run('echo $$')).trim();
    expect(await alice.run(`kill -TERM ${bobShell}`)).toMatch(/Operation not permitted/);
    expect(await alice.run(`kill -KILL ${bobShell}`)).toMatch(/Operation not permitted/);
    expect((await bob.run('echo still-here')).trim()).toBe('still-here');
  });

  it('gives the same user the same uid and home on both terminal-workers, and ends only that worker’s processes when the user’s last session there closes', async () => {
    const shells: Array<{ worker: number; shell: Shell }> = [];
    for (let attempt = 0; attempt < 6 && new Set(shells.map((s) => s.worker)).size < 2; attempt++) {
      const shell = await shellOf('carol');
      shells.push({ worker: Number((await shell.run('echo $PPID')).trim()), shell });
    }
    const workers = [...new Set(shells.map((s) => s.worker))];
    expect(workers.sort()).toEqual(workerPids().sort());
    const [firstWorker, secondWorker] = workers as [number, number];
    const onFirst = shells.filter((s) => s.worker === firstWorker).map((s) => s.shell);
    const second = shells.find((s) => s.worker === secondWorker)!.shell;
    const identity = 'id -u; id -un; echo $HOME; stat -c %u "$HOME"';
    expect(await onFirst[0]!.run(identity)).toBe(await second.run(identity));
    const carol = Number((await second.run('id -u')).trim());

    // Carol's last session on the first worker closes: her processes there die, not on the second.
    await onFirst[0]!.run('setsid sleep 1003 < /dev/null > /dev/null 2>&1 &');
    // setsid forks (a background job leads its process group): find the sleep itself.
    const leftOnFirst = await waitForValue(() => processesOf(carol).find((pid) => commandOf(pid) === 'sleep 1003'));
    await second.run('sleep 1004 &');
    expect(processesOf(carol)).toContain(leftOnFirst);
    for (const shell of onFirst) await shell.socket.emitWithAck('terminal:close', { session_id: shell.sessionId });
    await waitFor(() => !processesOf(carol).includes(leftOnFirst), {
      timeoutMs: 20_000,
      message: 'the process carol left on the first worker to be killed',
    });
    expect((await second.run('jobs -r | wc -l')).trim()).toBe('1');
    expect((await second.run('echo alive')).trim()).toBe('alive');
  });

  it('gives hostile user ids valid, distinct accounts that cannot reach each other', async () => {
    const subs = ['alice bob', '../../etc/passwd', 'root', 'dave:0:0:', 'line\nbreak', '🦊🦊', 'x'.repeat(128)];
    const identities: Array<{ sub: string; name: string; uid: string; home: string }> = [];
    const shells: Shell[] = [];
    for (const sub of subs) {
      const shell = await shellOf(sub);
      shells.push(shell);
      const [name, uid, home] = (await shell.run('id -un; id -u; echo $HOME')).trim().split('\n') as [
        string,
        string,
        string,
      ];
      identities.push({ sub, name, uid, home });
    }
    for (const { name, home } of identities) {
      expect(name).toMatch(/^[a-z][a-z0-9]*-\d+$/);
      expect(path.dirname(home)).toBe(path.join(cluster.stateDir, 'homes'));
      expect(path.basename(home)).toBe(name);
      expect(passwdEntry(name)).toBeDefined();
    }
    expect(new Set(identities.map((i) => i.uid)).size).toBe(subs.length);
    expect(new Set(identities.map((i) => i.name)).size).toBe(subs.length);
    expect(identities.map((i) => i.name)).not.toContain('root');
    // The one whose id looks like a path cannot read the others' homes, nor they its.
    const pathLike = shells[1]!;
    for (const other of identities.filter((_, i) => i !== 1)) {
      expect(await pathLike.run(`ls "${other.home}"`)).toMatch(/Permission denied/);
    }
    expect(await shells[0]!.run(`ls "${identities[1]!.home}"`)).toMatch(/Permission denied/);
    // Longer ids never reach a worker: the gateway refuses them at the handshake (the README's 128).
    const refusal = await connectClient(cluster.url, await cluster.signToken('y'.repeat(300))).catch(
      (error: Error & { data?: { code?: string } }) => error.data?.code,
    );
    expect(refusal).toBe('UNAUTHORIZED');
  });

  it('stops a fork bomb at the process limit while another user’s shell keeps answering', async () => {
    const bomber = await shellOf('bomber');
    const bystander = await shellOf('bystander');
    const bomberUid = Number((await bomber.run('id -u')).trim());
    bomber.socket.emit('terminal:input', { session_id: bomber.sessionId, data: 'b() { b | b & }; b\r' });
    await waitFor(() => processesOf(bomberUid).length >= MAX_PROCESSES / 2, {
      timeoutMs: 30_000,
      message: 'the fork bomb to spread',
    });
    for (let i = 0; i < 5; i++) {
      expect((await bystander.run(`echo answer-${i}`)).trim()).toBe(`answer-${i}`);
    }
    await bomber.out.waitForText(/Resource temporarily unavailable/, 30_000);
    expect(processesOf(bomberUid).length).toBeLessThanOrEqual(MAX_PROCESSES);
    await bomber.socket.emitWithAck('terminal:close', { session_id: bomber.sessionId });
    await waitFor(() => processesOf(bomberUid).length === 0, {
      timeoutMs: 20_000,
      message: 'every process of the bomber to be gone',
    });
    expect((await bystander.run('echo after')).trim()).toBe('after');
  });

  it('kills what a user left behind with nohup and setsid once their last session closes', async () => {
    const leaver = await shellOf('leaver');
    const uid = Number((await leaver.run('id -u')).trim());
    const shellPid = Number((await leaver.run('echo $$')).trim());
    await leaver.run('setsid sleep 1001 < /dev/null > /dev/null 2>&1 & nohup sleep 1002 > /dev/null 2>&1 &');
    // The setsid one has left the shell's Unix session: closing the session alone would miss it.
    const escaped = await waitForValue(() =>
      processesOf(uid).find((pid) => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(fields[3]) !== shellPid && commandOf(pid) === 'sleep 1001';
      }),
    );
    expect(escaped).toBeGreaterThan(0);
    await leaver.socket.emitWithAck('terminal:close', { session_id: leaver.sessionId });
    await waitFor(() => processesOf(uid).length === 0, {
      timeoutMs: 20_000,
      message: `every process of uid ${uid} to be gone (left: ${processesOf(uid).join(', ')})`,
    });
  });

  it('kills what a user left on a terminal-worker that was SIGKILLed (it ended nobody itself)', async () => {
    const shells: Array<{ worker: number; shell: Shell }> = [];
    for (let attempt = 0; attempt < 4 && new Set(shells.map((s) => s.worker)).size < 2; attempt++) {
      const shell = await shellOf('orphaned');
      shells.push({ worker: Number((await shell.run('echo $PPID')).trim()), shell });
    }
    const { worker, shell } = shells[0]!;
    const uid = Number((await shell.run('id -u')).trim());
    await shell.run('setsid sleep 1005 < /dev/null > /dev/null 2>&1 &');
    const left = await waitForValue(() => processesOf(uid).find((pid) => commandOf(pid) === 'sleep 1005'));
    const name = cluster.processes().find((p) => p.pid === worker)!.name;
    await cluster.signal(name, 'SIGKILL');
    await waitFor(() => !processesOf(uid).includes(left), {
      timeoutMs: 20_000,
      message: 'the process left on the killed worker to be gone',
    });
  });

  it('removes the Unix accounts it created when it stops, and no other', async () => {
    expect(accountNames.size).toBeGreaterThan(5);
    for (const name of accountNames) expect(passwdEntry(name)).toBeDefined();
    for (const socket of sockets.splice(0)) socket.close();
    await cluster.stop();
    for (const name of accountNames) expect(passwdEntry(name)).toBeUndefined();
    // The machine's own account in the range was skipped, never listed, and so never removed.
    expect(passwdEntry(squatter)).toBeDefined();
  });
});
