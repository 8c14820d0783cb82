import { type FrameInfo, type Reply, startStandin, type Standin } from '@ctos/anthropic-standin';
import { ask, clientFor, collectText, RUN_COMMAND } from './support';

/** Cut points that land where naive SSE parsers break (P16, docs/pitfalls.md). */
function awkwardCuts(frame: Uint8Array, info: FrameInfo): number[] {
  const bytes = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const cuts = [
    3, // inside "event"
    bytes.indexOf('data:') + 2, // inside "data:"
    bytes.length - 1, // between the two newlines that end the frame
  ];
  if (info.event === 'content_block_delta') {
    cuts.push(bytes.indexOf('"text":"') + 10); // inside the JSON string
    const partial = bytes.indexOf('"partial_json":"');
    if (partial !== -1) cuts.push(partial + 20); // inside a piece of tool input
    const umlaut = bytes.indexOf('ö');
    if (umlaut !== -1) cuts.push(umlaut + 1); // between the two UTF-8 bytes of ö
  }
  return cuts;
}

/** Cuts every `\r\n` in two, so a parser must remember a trailing `\r`. */
function betweenCrAndLf(frame: Uint8Array): number[] {
  const cuts: number[] = [];
  frame.forEach((byte, i) => {
    if (byte === 0x0d) cuts.push(i + 1);
  });
  return cuts;
}

describe('SSE frames split across network writes', () => {
  let standin: Standin;

  beforeEach(async () => {
    standin = await startStandin({ port: 0, host: '127.0.0.1' });
  });

  afterEach(async () => {
    await standin.close();
  });

  const deltas = ['Schöne ', 'Grüße ', 'aus ', 'Köln', ' — ö€😀', '!'];
  const text = deltas.join('');

  it.each<[string, NonNullable<Reply['wire']>]>([
    ['cut inside data:, inside the JSON string and between the bytes of ö', { split: awkwardCuts, flushDelayMs: 2 }],
    ['CRLF line endings', { lineEnding: '\r\n' }],
    ['CRLF line endings cut between CR and LF', { lineEnding: '\r\n', split: betweenCrAndLf, flushDelayMs: 2 }],
    ['CR line endings', { lineEnding: '\r', split: { everyBytes: 7 }, flushDelayMs: 1 }],
    ['1-byte writes', { split: 'byte' }],
  ])('%s still gives the exact text', async (_name, wire) => {
    standin.setScript(() => ({ deltas, wire }));
    const client = clientFor(standin);

    const viaCreate = await collectText(await client.messages.create({ ...ask(), stream: true }));
    const viaStream = await client.messages.stream(ask()).finalMessage();

    expect(viaCreate).toBe(text);
    expect(viaStream.content).toEqual([expect.objectContaining({ type: 'text', text })]);
    expect(viaStream.stop_reason).toBe('end_turn');
  });

  it.each<[string, NonNullable<Reply['wire']>]>([
    ['cut inside data: and inside the partial JSON', { split: awkwardCuts, flushDelayMs: 2 }],
    ['CRLF line endings cut between CR and LF', { lineEnding: '\r\n', split: betweenCrAndLf, flushDelayMs: 2 }],
    ['1-byte writes', { split: 'byte' }],
  ])('%s still gives the scripted tool input', async (_name, wire) => {
    const input = { command: 'echo "Grüße aus Köln — ö€😀"', lines: [1, 2, 3], env: { LANG: 'de_DE.UTF-8' } };
    standin.setScript(() => ({ text: 'Schöne Grüße', toolUses: [{ name: 'run_command', input }], wire }));
    const client = clientFor(standin);
    const body = { ...ask(), tools: [RUN_COMMAND] };

    let json = '';
    for await (const event of await client.messages.create({ ...body, stream: true })) {
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta')
        json += event.delta.partial_json;
    }
    const viaStream = await client.messages.stream(body).finalMessage();

    expect(JSON.parse(json)).toEqual(input);
    expect(viaStream.content).toEqual([
      expect.objectContaining({ type: 'text', text: 'Schöne Grüße' }),
      expect.objectContaining({ type: 'tool_use', name: 'run_command', input }),
    ]);
    expect(viaStream.stop_reason).toBe('tool_use');
  });

  it('a 40 KB delta written one byte at a time arrives intact', async () => {
    const unit = 'Grüße aus Köln — ö€😀 ';
    const big = unit.repeat(Math.ceil((40 * 1024) / Buffer.byteLength(unit)));
    expect(Buffer.byteLength(big)).toBeGreaterThanOrEqual(40 * 1024);
    standin.setScript(() => ({ deltas: [big.slice(0, 5), big.slice(5)], wire: { split: 'byte' } }));

    const received = await clientFor(standin).messages.stream(ask()).finalText();

    expect(received.length).toBe(big.length);
    expect(received).toBe(big);
  });
});
