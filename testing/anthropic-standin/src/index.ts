/**
 * @packageDocumentation
 * A local stand-in for the Anthropic Messages API, faithful to its streaming wire format
 * (https://docs.anthropic.com/en/api/messages-streaming), with scripted replies and tool calls, a prompt
 * cache that reports cache tokens as the API does, failures and wire layouts for tests, benchmarks and
 * key-less local runs.
 */
export { type ApiErrorBody, type ApiErrorType } from './api-errors';
export { chunkText } from './chunk-text';
export { echoScript, echoText, type EchoPacing } from './echo-script';
export { type InputContentBlock, type InputMessage, type MessagesRequest } from './messages-request';
export { minimumCacheableTokens, type PromptCacheOptions } from './prompt-cache';
export {
  type ConnectionClose,
  type RecordedRequest,
  type RequestOutcome,
  type ToolDefinition,
} from './recorded-request';
export { type Fault, type HttpErrorReply, type Reply, type WireFormat } from './reply';
export { afterToolResults, sequence, type Script, type ScriptRequest } from './script';
export { type FrameInfo, type FrameSplit, type LineEnding } from './sse-frames';
export { startStandin, type Standin, type StandinOptions } from './standin-server';
export { startStandinFromEnv } from './standin-env';
export { lastToolResults, type ToolResult } from './tool-results';
export { type ScriptedToolUse } from './tool-use';
export { type MessageUsage, type StopReason } from './wire-events';
