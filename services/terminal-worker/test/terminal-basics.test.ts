import { randomBytes } from 'node:crypto';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor, type ClientSocket } from '@ctos/testkit';
import { connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

describe.each(BUILDS)('a terminal session (%s)', (build) => {
  let system: TerminalCluster;
  const sockets: ClientSocket[] = [];
  const connect = async (user = 'alice') => {
    const socket = await connectAs(system.url, user);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    system = await startTerminalCluster(build);
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(() => system.stop());

  it('runs the seed client snippet as written: create, input, output, resize, close', async () => {
    const socket = await connect();
    const userId = 'spoofed-user';
    const term = { cols: 100, rows: 30 };
    // The seed's frontend/js/terminal.js, verbatim apart from the variables it closes over.
    // (A bounded ack, so that a lost answer fails here, named, instead of at jest's timeout.)
    const response = await socket
      .timeout(10_000)
      .emitWithAck('terminal:create', { cols: term.cols, rows: term.rows, user_id: userId });
    expect(response.success).toBe(true);
    const sessionId = response.success ? response.session_id : '';
    let screen = '';
    socket.on('terminal:output', (data) => {
      if (data.session_id === sessionId) {
        screen += data.data;
      }
    });
    socket.emit('terminal:input', { session_id: sessionId, data: 'echo hello\r' });
    await waitFor(() => /[\r\n]hello\r\n/.test(screen), { message: 'hello echoed back' });
    socket.emit('terminal:input', { session_id: sessionId, data: 'stty size\r' });
    await waitFor(() => screen.includes('30 100'), { message: 'the size it was created at' });
    socket.emit('terminal:resize', { session_id: sessionId, cols: 132, rows: 43 });
    socket.emit('terminal:input', { session_id: sessionId, data: 'stty size\r' });
    await waitFor(() => screen.includes('43 132'), { message: 'the new size' });
    let closed: unknown;
    socket.once('terminal:closed', (event) => (closed = event));
    await expect(socket.timeout(10_000).emitWithAck('terminal:close', { session_id: sessionId })).resolves.toEqual({
      success: true,
    });
    await waitFor(() => closed !== undefined, { message: 'terminal:closed after the close' });
    expect(closed).toMatchObject({ session_id: sessionId, reason: 'closed' });
    // The spoofed user_id was ignored: the session was alice's.
    expect(system.terminalWorker.sessions.size).toBe(0);
  });

  it('starts the shell at the size the client asked for, never at 80x24 first (P04)', async () => {
    const socket = await connect();
    const out = await openSession(socket, { cols: 57, rows: 19 });
    type(socket, out, 'stty size; tput cols');
    await out.waitForText(/19 57\r\n57\r\n/);
    expect(out.text).not.toMatch(/24 80/);
  });

  it("gives the shell a minimal environment, not the worker's", async () => {
    process.env.CTOS_SECRET_CANARY = 'do-not-leak';
    const socket = await connect();
    const out = await openSession(socket);
    // The marker is split in the typed line, so the line's own echo cannot match it.
    type(socket, out, 'env | sort; echo __EN""D__');
    await out.waitForText(/[\r\n]__END__\r\n/);
    delete process.env.CTOS_SECRET_CANARY;
    const names = [...out.text.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
    expect(out.text).not.toContain('do-not-leak');
    expect(out.text).not.toMatch(/AUTH_JWT_SECRET|REDIS_URL|ANTHROPIC/);
    expect(names).toEqual(expect.arrayContaining(['TERM', 'COLORTERM', 'LANG', 'HOME', 'PATH', 'SHELL', 'USER']));
    expect(out.text).toContain('TERM=xterm-256color');
  });

  it('delivers 3 MiB of CJK and emoji byte-identical', async () => {
    const alphabet = ['語', '中', '文', '😀', '🟢', '✅', 'a', 'ö', '\n'];
    const parts: string[] = [];
    let bytes = 0;
    const random = randomBytes(2 * 1024 * 1024);
    for (let i = 0; bytes < 3 * 1024 * 1024; i++) {
      const char = alphabet[random[i % random.length]! % alphabet.length]!;
      parts.push(char);
      bytes += Buffer.byteLength(char);
    }
    const content = parts.join('');
    const file = path.join(tmpdir(), `ctos-utf8-${randomBytes(4).toString('hex')}.txt`);
    writeFileSync(file, content);
    try {
      const socket = await connect();
      const out = await openSession(socket);
      // -onlcr: the tty passes \n through untranslated, so the bytes are exactly the file's.
      type(socket, out, `stty -onlcr -echo; printf '\\n__BEGIN__\\n'; cat ${file}; printf '__END__\\n'`);
      await out.waitForText(/__END__\n/, 30_000);
      const body = out.text.slice(
        out.text.lastIndexOf('__BEGIN__\n') + '__BEGIN__\n'.length,
        out.text.lastIndexOf('__END__'),
      );
      expect(body.length).toBe(content.length);
      expect(body === content).toBe(true);
      expect(body).not.toContain('\uFFFD');
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('opens and leaves the alternate screen with less, and reports an exit code', async () => {
    const socket = await connect();
    const out = await openSession(socket);
    type(socket, out, 'less /etc/passwd');
    await out.waitForText('\x1b[?1049h');
    socket.emit('terminal:input', { session_id: out.sessionId, data: 'q' });
    await out.waitForText('\x1b[?1049l');
    type(socket, out, 'exit 7');
    await waitFor(() => out.closed !== undefined, { message: 'terminal:closed' });
    expect(out.closed).toEqual({ session_id: out.sessionId, reason: 'exit', exit_code: 7 });
  });

  it("delivers all of a fast command's output before its exit, every time (P02)", async () => {
    const socket = await connect();
    for (let run = 0; run < 25; run++) {
      const out = await openSession(socket);
      type(socket, out, "stty -echo; head -c 20480 /dev/zero | tr '\\0' y; exit");
      await waitFor(() => out.closed !== undefined, { message: `run ${run} closed` });
      // The command line's own echo has single y's; the payload is the long run.
      expect((out.text.match(/y{3,}/g) ?? []).join('').length).toBe(20480);
      expect(out.closed).toMatchObject({ reason: 'exit', exit_code: 0 });
      out.stop();
    }
  });
});
