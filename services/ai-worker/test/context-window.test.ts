import { buildContext } from '../src/context-window';
import { titleOf } from '../src/conversation-store';

describe('the context sent with a message', () => {
  it('puts earlier turns oldest first and ends with the new message', () => {
    expect(
      buildContext(
        [
          { role: 'assistant', content: 'a2' },
          { role: 'user', content: 'u2' },
          { role: 'assistant', content: 'a1' },
          { role: 'user', content: 'u1' },
        ],
        'u3',
      ),
    ).toEqual([
      { role: 'user', content: 'u1' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a2' },
      { role: 'user', content: 'u3' },
    ]);
  });

  it('drops replies before the first user turn and joins neighbours of one role', () => {
    expect(
      buildContext(
        [
          { role: 'user', content: 'u3 (its reply failed)' },
          { role: 'assistant', content: 'a2' },
          { role: 'user', content: 'u2' },
          { role: 'assistant', content: 'a1 (its question fell outside the budget)' },
        ],
        'u4',
      ),
    ).toEqual([
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a2' },
      { role: 'user', content: 'u3 (its reply failed)\n\nu4' },
    ]);
  });

  it('is just the new message in a new conversation', () => {
    expect(buildContext([], 'hello')).toEqual([{ role: 'user', content: 'hello' }]);
  });
});

describe('conversation titles', () => {
  it('are the first message on one line, cut at 80 characters without splitting a character', () => {
    expect(titleOf('  How do I\n\tfind   big files?  ')).toBe('How do I find big files?');
    const long = '😀'.repeat(100);
    expect(Array.from(titleOf(long))).toHaveLength(80);
    expect(titleOf(long).endsWith('😀…')).toBe(true);
  });
});
