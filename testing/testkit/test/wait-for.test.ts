import { waitFor, waitForValue } from '../src';

/** A probe that answers each of `answers` in turn, then the last one for ever. */
function answering<T>(...answers: T[]): () => T {
  let i = 0;
  return () => answers[Math.min(i++, answers.length - 1)]!;
}

describe('waitFor', () => {
  it('resolves once the condition is true', async () => {
    await expect(waitFor(answering(false, false, true), { intervalMs: 1 })).resolves.toBeUndefined();
  });

  it.each([0, '', null, 'yes', 1, {}])('does not take %p for a condition met', async (answer) => {
    const condition = (() => answer) as unknown as () => boolean;
    await expect(waitFor(condition, { timeoutMs: 30, intervalMs: 1, message: 'never' })).rejects.toThrow(
      'never within 30 ms',
    );
  });

  it('says what the probe last threw when it gives up', async () => {
    const condition = (): boolean => {
      throw new Error('not ready');
    };
    await expect(waitFor(condition, { timeoutMs: 30, intervalMs: 1 })).rejects.toThrow(
      'condition not met within 30 ms: not ready',
    );
  });
});

describe('waitForValue', () => {
  it.each([0, '', false])('returns %p: a value, not a miss', async (value) => {
    await expect(waitForValue(answering<unknown>(undefined, null, value), { intervalMs: 1 })).resolves.toBe(value);
  });

  it('keeps waiting while the probe answers undefined or null', async () => {
    await expect(
      waitForValue(answering<string | null | undefined>(undefined, null), { timeoutMs: 30, intervalMs: 1 }),
    ).rejects.toThrow('condition not met within 30 ms');
  });
});
