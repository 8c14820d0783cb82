/**
 * @packageDocumentation
 * A local stand-in for the Anthropic Messages API, faithful to its streaming wire format
 * (https://docs.anthropic.com/en/api/messages-streaming), with scripted replies, failures and wire layouts
 * for tests, benchmarks and key-less local runs.
 */
export { type ApiErrorBody, type ApiErrorType } from './api-errors';
export { chunkText } from './chunk-text';
export { echoScript, echoText, type EchoPacing } from './echo-script';
export { type InputMessage, type MessagesRequest } from './messages-request';
export { type ConnectionClose, type RecordedRequest, type RequestOutcome } from './recorded-request';
export { type Fault, type HttpErrorReply, type Reply, type WireFormat } from './reply';
export { sequence, type Script, type ScriptRequest } from './script';
export { type FrameInfo, type FrameSplit, type LineEnding } from './sse-frames';
export { startStandin, type Standin, type StandinOptions } from './standin-server';
export { startStandinFromEnv } from './standin-env';
export { type StopReason } from './wire-events';
