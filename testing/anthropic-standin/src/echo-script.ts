import { lastUserText, type MessagesRequest } from './messages-request';
import type { Script } from './script';

const QUOTE_LIMIT = 200;

const LOREM = [
  'This reply comes from the local Anthropic stand-in, because no API key is configured.',
  'It streams in small pieces, the way a real model answer would arrive.',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.',
  'Set an API key to talk to Claude for real.',
];

/**
 * The text the echo script streams for a request: a quote of the last user message followed by a few
 * sentences saying where the reply comes from.
 */
export function echoText(request: MessagesRequest): string {
  const said = lastUserText(request).replace(/\s+/gu, ' ').trim();
  const points = Array.from(said);
  const quote = points.length > QUOTE_LIMIT ? `${points.slice(0, QUOTE_LIMIT).join('')}…` : said;
  const opening = quote === '' ? 'You sent an empty message.' : `You said: "${quote}".`;
  return [opening, ...LOREM].join(' ');
}

/** Pacing of the echo script, in milliseconds. */
export interface EchoPacing {
  /** Between the initial `ping` and the first word; default 150. */
  readonly firstDeltaDelayMs?: number;
  /** Between words; default 20. */
  readonly deltaIntervalMs?: number;
}

/**
 * A script that streams {@link echoText} one word per delta at a modest pace, so a person trying the
 * product without an API key sees a reply being typed out.
 */
export function echoScript(pacing: EchoPacing = {}): Script {
  const firstDeltaDelayMs = pacing.firstDeltaDelayMs ?? 150;
  const deltaIntervalMs = pacing.deltaIntervalMs ?? 20;
  return ({ body }) => ({ text: echoText(body), firstDeltaDelayMs, deltaIntervalMs });
}
