import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { recordingFile, recordingFolder } from '@ctos/runtime';
import { asciicastOutput, parseAsciicast } from '@ctos/protocol';
import { signToken, waitFor, type ClientSocket } from '@ctos/testkit';
import { SIZE_LIMIT_MARKER } from '../src/asciicast-writer';
import { connectAs, openSession, type } from './harness';
import { BUILDS, startTerminalCluster, type TerminalCluster } from './terminal-cluster';

/** About 5 MiB of CJK and emoji, with a line number so that nothing repeats. */
const WIDE_FLOOD =
  "for i in $(seq 1 100000); do printf '%06d 終端機錄製測試😀🚀 ünïcödé 語\\n' $i; done; echo FLOOD-END";

describe.each(BUILDS)('session recordings (%s)', (build) => {
  let cluster: TerminalCluster;
  let root: string;
  const sockets: ClientSocket[] = [];
  const connect = async (user: string) => {
    const socket = await connectAs(cluster.url, user);
    sockets.push(socket);
    return socket;
  };
  const download = async (user: string | undefined, name: string) =>
    fetch(`${cluster.url}/recordings/${name}`, {
      headers: user === undefined ? {} : { authorization: `Bearer ${await signToken(user)}` },
    });

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'ctos-recordings-'));
    const env = { TERMINAL_RECORDING_DIR: root };
    cluster = await startTerminalCluster(build, { env: { ...env, TERMINAL_RECORDING: 'on' }, gatewayEnv: env });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await cluster.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('records 5 MiB of UTF-8 output and two resizes as asciicast v2, whose output is exactly what the shell wrote', async () => {
    const socket = await connect('rita');
    const out = await openSession(socket, { cols: 100, rows: 30 });
    await socket.emitWithAck('terminal:resize', { session_id: out.sessionId, cols: 120, rows: 40 });
    type(socket, out, WIDE_FLOOD);
    await out.waitForText(/[\r\n]FLOOD-END\r\n/, 60_000);
    await socket.emitWithAck('terminal:resize', { session_id: out.sessionId, cols: 90, rows: 20 });
    const closed = new Promise((resolve) => socket.once('terminal:closed', resolve));
    type(socket, out, 'exit');
    await closed;
    expect(Buffer.byteLength(out.text, 'utf8')).toBeGreaterThan(5 * 1024 * 1024);

    const file = recordingFile(root, 'rita', out.sessionId)!;
    await waitFor(() => asciicastOutput(parseAsciicast(readFileSync(file, 'utf8')).events) === out.text, {
      message: 'the recording to hold all the output',
    });
    const { header, events } = parseAsciicast(readFileSync(file, 'utf8'));
    expect(header).toMatchObject({ version: 2, width: 100, height: 30 });
    expect(events.filter(([, code]) => code === 'r').map(([, , size]) => size)).toEqual(['120x40', '90x20']);
    expect(events.some(([, code]) => code === 'i')).toBe(false); // input only with TERMINAL_RECORD_INPUT
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect((statSync(recordingFolder(root, 'rita')).mode & 0o777).toString(8)).toBe('700');
  });

  it('lists a user’s recordings to that user alone, and serves each to its owner only', async () => {
    const socket = await connect('sam');
    const out = await openSession(socket);
    type(socket, out, 'echo recorded-line');
    await out.waitForText(/[\r\n]recorded-line\r\n/);
    await socket.emitWithAck('terminal:close', { session_id: out.sessionId });

    const mine = await socket.emitWithAck('terminal:recordings', {});
    if (!mine.success) throw new Error(mine.error);
    expect(mine.recordings.map((r: { recording_id: string }) => r.recording_id)).toEqual([out.sessionId]);
    const other = await (await connect('tom')).emitWithAck('terminal:recordings', {});
    expect(other).toEqual({ success: true, recordings: [] });

    const owned = await download('sam', `${out.sessionId}.cast`);
    expect(owned.status).toBe(200);
    expect(owned.headers.get('content-type')).toMatch(/^application\/x-asciicast/);
    expect(await owned.text()).toBe(readFileSync(recordingFile(root, 'sam', out.sessionId)!, 'utf8'));
    // Another user's id is not found, exactly as a made-up one: whether it exists is not told.
    const foreign = await download('tom', `${out.sessionId}.cast`);
    expect([foreign.status, await foreign.json()]).toEqual([404, expect.objectContaining({ code: 'NOT_FOUND' })]);
    for (const name of ['00000000-0000-4000-8000-000000000000.cast', '..%2F..%2Fetc%2Fpasswd', `${out.sessionId}`]) {
      expect((await download('sam', name)).status).toBe(404);
    }
    // A path that cannot be decoded is no recording either.
    const undecodable = await download('sam', '%E0%A4%A.cast');
    expect([undecodable.status, await undecodable.json()]).toEqual([
      404,
      expect.objectContaining({ code: 'NOT_FOUND' }),
    ]);
    // A recording whose header is not written yet is empty, not an error.
    const empty = '33333333-3333-4333-8333-333333333333';
    writeFileSync(recordingFile(root, 'sam', empty)!, '');
    const started = await download('sam', `${empty}.cast`);
    expect([started.status, await started.text()]).toEqual([200, '']);
    const anonymous = await download(undefined, `${out.sessionId}.cast`);
    expect([anonymous.status, await anonymous.json()]).toEqual([
      401,
      expect.objectContaining({ code: 'UNAUTHORIZED' }),
    ]);
  });
});

describe.each(BUILDS)('recording limits (%s)', (build) => {
  const CAP_BYTES = 8192;
  let cluster: TerminalCluster;
  let root: string;
  const sockets: ClientSocket[] = [];

  it('prunes recordings past the retention, records on request only, and stops at the size cap with a marker', async () => {
    root = mkdtempSync(path.join(tmpdir(), 'ctos-recordings-'));
    // Two recordings of an earlier run: one past the retention (a minute), one within it.
    const folder = recordingFolder(root, 'uma');
    mkdirSync(folder, { recursive: true });
    const [old, recent] = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
    for (const id of [old, recent]) writeFileSync(path.join(folder, `${id}.cast`), '{"version":2}\n');
    const twoMinutesAgo = (Date.now() - 120_000) / 1000;
    utimesSync(path.join(folder, `${old}.cast`), twoMinutesAgo, twoMinutesAgo);

    const env = {
      TERMINAL_RECORDING_DIR: root,
      TERMINAL_RECORDING: 'opt-in',
      TERMINAL_RECORDING_MAX_BYTES: String(CAP_BYTES),
      TERMINAL_RECORDING_RETENTION_MS: '60000',
    };
    cluster = await startTerminalCluster(build, { env, gatewayEnv: { TERMINAL_RECORDING_DIR: root } });
    try {
      await waitFor(() => readdirSync(folder).length === 1, { message: 'the old recording pruned' });
      expect(readdirSync(folder)).toEqual([`${recent}.cast`]);

      const socket = await connectAs(cluster.url, 'uma');
      sockets.push(socket);
      const unrecorded = await openSession(socket);
      const recorded = await openSession(socket, { record: true });
      for (const out of [unrecorded, recorded]) {
        type(socket, out, 'head -c 100000 /dev/zero | tr "\\0" x; echo; echo DONE');
        await out.waitForText(/[\r\n]DONE\r\n/);
      }
      expect(readdirSync(folder).sort()).toEqual([`${recent}.cast`, `${recorded.sessionId}.cast`].sort());
      const text = readFileSync(recordingFile(root, 'uma', recorded.sessionId)!, 'utf8');
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(CAP_BYTES);
      const { events } = parseAsciicast(text);
      expect(events.at(-1)!.slice(1)).toEqual(['m', SIZE_LIMIT_MARKER]);
      expect(recorded.text.startsWith(asciicastOutput(events))).toBe(true);
    } finally {
      for (const socket of sockets.splice(0)) socket.close();
      await cluster.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
