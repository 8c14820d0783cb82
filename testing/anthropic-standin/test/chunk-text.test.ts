import { chunkText } from '@ctos/anthropic-standin';

describe('chunkText', () => {
  it('splits into word-sized pieces that join back exactly', () => {
    const text = '  Hello,  wörld!\nNew line  ';
    const pieces = chunkText(text);
    expect(pieces).toEqual(['  Hello,', '  wörld!', '\nNew', ' line', '  ']);
    expect(pieces.join('')).toBe(text);
  });

  it('splits into N near-equal pieces without breaking surrogate pairs', () => {
    const text = '😀😀😀😀😀ab';
    const pieces = chunkText(text, 3);
    expect(pieces).toHaveLength(3);
    expect(pieces.join('')).toBe(text);
    for (const piece of pieces) expect(Buffer.from(piece).toString()).toBe(piece);
  });

  it('gives fewer pieces than asked for a short text, and none for an empty one', () => {
    expect(chunkText('ab', 5)).toEqual(['a', 'b']);
    expect(chunkText('', 3)).toEqual([]);
  });

  it('rejects a non-positive count', () => {
    expect(() => chunkText('abc', 0)).toThrow(RangeError);
  });
});
