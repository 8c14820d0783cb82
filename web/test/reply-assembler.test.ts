import { ReplyAssembler } from '../src/ai/reply-assembler';

test('chunks in order build the text and advance the last index', () => {
  const reply = new ReplyAssembler();
  expect(reply.lastIndex).toBe(-1);
  expect(reply.accept(0, 'Hel')).toBe('added');
  expect(reply.accept(1, 'lo')).toBe('added');
  expect(reply.text).toBe('Hello');
  expect(reply.lastIndex).toBe(1);
});

test('a repeated index (a resume overlapping live chunks) doubles nothing', () => {
  const reply = new ReplyAssembler();
  reply.accept(0, 'a');
  reply.accept(1, 'b');
  expect(reply.accept(1, 'b')).toBe('duplicate');
  expect(reply.accept(0, 'a')).toBe('duplicate');
  expect(reply.text).toBe('ab');
});

test('a chunk after a gap waits until the gap is filled', () => {
  const reply = new ReplyAssembler();
  reply.accept(0, 'w');
  expect(reply.accept(2, 'r')).toBe('gap');
  expect(reply.hasGap).toBe(true);
  expect(reply.text).toBe('w');
  expect(reply.lastIndex).toBe(0);
  expect(reply.accept(1, 'o')).toBe('added');
  expect(reply.text).toBe('wor');
  expect(reply.hasGap).toBe(false);
});
