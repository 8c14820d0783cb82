import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { moduleOf, summarizeProfile } from '../src/profile-summary';

describe('CPU profile summaries', () => {
  it('name the package or repository file a frame belongs to', () => {
    expect(moduleOf('file:///x/node_modules/@socket.io/redis-adapter/dist/index.js', 'f')).toBe(
      '@socket.io/redis-adapter',
    );
    expect(moduleOf('/x/node_modules/ws/lib/sender.js', 'f')).toBe('ws');
    expect(moduleOf('/repo/services/terminal-worker/dist/session.js', 'f')).toBe('terminal-worker/session.js');
    expect(moduleOf('node:events', 'emit')).toBe('node:events');
    expect(moduleOf('', '(garbage collector)')).toBe('(garbage collector)');
  });

  it('share self time out among busy (not idle) samples and read the pid from the file name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-profile-'));
    try {
      const file = path.join(dir, 'CPU.20261129.101010.4242.0.001.cpuprofile');
      const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
      writeFileSync(
        file,
        JSON.stringify({
          startTime: 0,
          endTime: 10_000,
          nodes: [
            { id: 1, callFrame: frame('(idle)'), hitCount: 6 },
            { id: 2, callFrame: frame('parse', '/x/node_modules/zod/index.js'), hitCount: 3 },
            { id: 3, callFrame: frame('emit', 'node:events'), hitCount: 1 },
          ],
        }),
      );
      const summary = summarizeProfile(file);
      expect(summary.pid).toBe(4242);
      expect(summary.wallMs).toBe(10);
      expect(summary.busyMs).toBeCloseTo(4);
      expect(summary.modules[0]).toMatchObject({ name: 'zod', share: 0.75 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
