/**
 * The leak check (jest's test environment here) replaces timers and child_process
 * functions while a file runs; what code does with them must work as without it.
 */
import { exec, execFile } from 'node:child_process';
import { setTimeout as coreTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

describe('functions the leak check tracks', () => {
  it('keep their promisified forms: exec and execFile resolve with stdout and stderr', async () => {
    await expect(promisify(execFile)('echo', ['hi'])).resolves.toEqual({ stdout: 'hi\n', stderr: '' });
    await expect(promisify(exec)('echo hi >&2')).resolves.toEqual({ stdout: '', stderr: 'hi\n' });
  });

  it('sleep as before: promisify(setTimeout) and timers/promises resolve with their value', async () => {
    await expect(promisify(setTimeout)(1, 'slept')).resolves.toBe('slept');
    await expect(sleep(1, 'slept')).resolves.toBe('slept');
    await expect(new Promise((resolve) => coreTimeout(resolve, 1, 'fired'))).resolves.toBe('fired');
  });

  it('abort a timers/promises sleep by its signal', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, 'never', { signal: controller.signal });
    controller.abort();
    await expect(slept).rejects.toMatchObject({ name: 'AbortError' });
  });
});
