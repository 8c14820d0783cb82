/**
 * @packageDocumentation
 * The ctos-realtime protocol: event names, payload schemas, the acknowledgement envelope
 * and error codes. Browser-safe: no Node or DOM types, and it imports nothing of ours.
 * See ../../../README.md#protocol for the event tables.
 */
export * from './ack';
export * from './ai';
export * from './common';
export * from './connection';
export * from './errors';
export * from './events';
export * from './limits';
export * from './message';
export * from './terminal';
export * from './utf8';
export * from './asciicast';
export * from './rooms';
export * from './internal/bus-family';
export * from './internal/terminal-bus';
export * from './internal/message-bus';
export * from './internal/ai-bus';
export { DisposableStore, type Disposable } from './disposable';
