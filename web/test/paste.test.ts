import { neutralisePaste } from '../src/terminal/paste';

describe('pasted text', () => {
  it('loses every escape introducer, so it cannot close a bracketed paste', () => {
    expect(neutralisePaste('echo first\x1b[201~;touch /tmp/x\r')).toBe('echo first\u241b[201~;touch /tmp/x\r');
    expect(neutralisePaste('a\x9b201~b')).toBe('a\u241b201~b');
  });

  it('keeps everything else exactly, newlines and wide characters included', () => {
    const text = 'line 1\nline 2\r\n語😀\ttab';
    expect(neutralisePaste(text)).toBe(text);
  });
});
