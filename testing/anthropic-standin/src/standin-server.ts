import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConnectionGone } from './cancellable-sleep';
import { echoScript } from './echo-script';
import { newRequestId } from './ids';
import { validateMessagesRequest } from './messages-request';
import { PromptCache, type PromptCacheOptions } from './prompt-cache';
import type { ConnectionClose, RecordedRequest, RequestOutcome, ToolDefinition } from './recorded-request';
import { type MutableRecord, RequestLog } from './request-log';
import { type ResponseContext, sendApiError } from './response-context';
import { runReply } from './run-reply';
import type { Script } from './script';
import { lastToolResults } from './tool-results';

/** The real API's request size limit; larger bodies get 413 `request_too_large`. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_WAIT_MS = 5_000;

/** How to start a stand-in. */
export interface StandinOptions {
  /** TCP port; default 0 (any free port, see `Standin.port`). */
  readonly port?: number;
  /** Interface to listen on; default `'127.0.0.1'`. */
  readonly host?: string;
  /**
   * When set, requests must carry it as `x-api-key` or as `authorization: Bearer …` (which is how
   * `@anthropic-ai/sdk` 1.x sends `apiKey`), else 401 `authentication_error`. When unset, any key is accepted.
   */
  readonly apiKey?: string;
  /** Decides each reply; default {@link echoScript}. */
  readonly script?: Script;
  /**
   * The prompt cache, kept in memory for the stand-in's lifetime: by default the API's minimum cacheable
   * length for the requested model (1024 tokens for most, 4096 for Haiku 4.5) and its TTLs on the real clock.
   */
  readonly promptCache?: PromptCacheOptions;
}

/**
 * A running stand-in for the Anthropic Messages API. Point the SDK at it with
 * `new Anthropic({ apiKey, baseURL: standin.url })`.
 */
export interface Standin {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, in arrival order; entries update as their responses progress. */
  readonly requests: readonly RecordedRequest[];
  /** Every response connection that closed so far, in order. */
  readonly closes: readonly ConnectionClose[];
  /**
   * Replaces the script for the following requests and restarts `ScriptRequest.attempt` at 0; no script
   * means {@link echoScript}.
   */
  setScript(script?: Script): void;
  /**
   * Resolves with request `index` once its body has arrived.
   *
   * @param timeoutMs - default 5000.
   * @throws Error on timeout or when the stand-in closes first.
   */
  waitForRequest(index: number, timeoutMs?: number): Promise<RecordedRequest>;
  /**
   * Resolves with request `index` once its connection has closed (`closedAt` and `outcome` set), e.g. to
   * check that a client abort reached the server.
   *
   * @param timeoutMs - default 5000.
   * @throws Error on timeout or when the stand-in closes first.
   */
  waitForClose(index: number, timeoutMs?: number): Promise<RecordedRequest>;
  /** Destroys open connections, cancels every pending delay and stops listening. Idempotent. */
  close(): Promise<void>;
}

function formatUrl(address: AddressInfo): string {
  // A wildcard address is not something a client can connect to; loopback of the same family is.
  const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return host.includes(':') ? `http://[${host}]:${address.port}` : `http://${host}:${address.port}`;
}

async function readBody(req: IncomingMessage): Promise<{ bytes: Buffer; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    // An oversized body is still drained, so the 413 can be sent on a healthy connection.
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    }
  } catch {
    throw new ConnectionGone();
  }
  return { bytes: Buffer.concat(chunks), tooLarge: size > MAX_BODY_BYTES };
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

function toolsOf(body: unknown): readonly ToolDefinition[] {
  const tools = typeof body === 'object' && body !== null ? (body as { tools?: unknown }).tools : undefined;
  return Array.isArray(tools) ? (tools as ToolDefinition[]) : [];
}

function hasKey(req: IncomingMessage, apiKey: string): 'missing' | 'wrong' | 'ok' {
  const given = req.headers['x-api-key'];
  const bearer = req.headers.authorization;
  if (given === apiKey || bearer === `Bearer ${apiKey}`) return 'ok';
  return given === undefined && bearer === undefined ? 'missing' : 'wrong';
}

class StandinServer implements Standin {
  readonly url: string;
  readonly port: number;
  readonly #server: Server;
  readonly #apiKey: string | undefined;
  readonly #log = new RequestLog();
  readonly #live = new Set<AbortController>();
  readonly #cache: PromptCache;
  #script: Script;
  #attempts = 0;
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(server: Server, options: StandinOptions) {
    this.#server = server;
    this.#apiKey = options.apiKey;
    this.#script = options.script ?? echoScript();
    this.#cache = new PromptCache(options.promptCache);
    const address = server.address() as AddressInfo;
    this.url = formatUrl(address);
    this.port = address.port;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res));
  }

  get requests(): readonly RecordedRequest[] {
    return this.#log.requests;
  }

  get closes(): readonly ConnectionClose[] {
    return this.#log.closes;
  }

  setScript(script?: Script): void {
    this.#script = script ?? echoScript();
    this.#attempts = 0;
  }

  waitForRequest(index: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest> {
    return this.#log.waitForRequest(index, timeoutMs);
  }

  waitForClose(index: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest> {
    return this.#log.waitForClose(index, timeoutMs);
  }

  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      this.#closing = true;
      this.#log.closing();
      for (const controller of this.#live) controller.abort();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    }).then(() => {
      this.#log.shutDown();
    });
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const controller = new AbortController();
    this.#live.add(controller);
    let record: MutableRecord | undefined;
    let dropped = false;
    let ended: { at: number; outcome: Exclude<RequestOutcome, 'open'> } | undefined;
    const settle = (): void => {
      if (record !== undefined && ended !== undefined) this.#log.closed(record, ended.at, ended.outcome);
    };
    res.on('close', () => {
      this.#live.delete(controller);
      controller.abort();
      const outcome = res.writableFinished
        ? 'completed'
        : dropped
          ? 'dropped'
          : this.#closing
            ? 'server-closed'
            : 'client-closed';
      ended = { at: Date.now(), outcome };
      settle();
    });
    const ctx: ResponseContext = {
      res,
      signal: controller.signal,
      requestId: newRequestId(),
      writeHead: (status, headers) => {
        if (record !== undefined) record.status = status;
        res.writeHead(status, headers);
      },
      drop: () => {
        dropped = true;
        res.destroy();
      },
    };

    try {
      const { bytes, tooLarge } = await readBody(req);
      const rawBody = bytes.toString('utf8');
      const parsed = parseJson(rawBody);
      record = {
        index: this.#log.requests.length,
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        rawBody,
        body: parsed.ok ? parsed.value : undefined,
        requestId: ctx.requestId,
        receivedAt: Date.now(),
        status: undefined,
        closedAt: undefined,
        outcome: 'open',
        tools: toolsOf(parsed.ok ? parsed.value : undefined),
        toolResults: [],
        usage: undefined,
      };
      this.#log.received(record);
      // The client may have hung up while its body was still arriving.
      if (ended !== undefined) return settle();

      await this.#answer(req, ctx, record, parsed, tooLarge);
    } catch (error) {
      if (error instanceof ConnectionGone) return;
      if (!res.headersSent) sendApiError(ctx, 500, 'api_error', `stand-in failure: ${(error as Error).message}`);
      else res.destroy();
    }
  }

  async #answer(
    req: IncomingMessage,
    ctx: ResponseContext,
    record: MutableRecord,
    parsed: ReturnType<typeof parseJson>,
    tooLarge: boolean,
  ): Promise<void> {
    const pathname = new URL(record.path, 'http://standin').pathname;
    if (pathname !== '/v1/messages') return sendApiError(ctx, 404, 'not_found_error', 'Not found');
    if (record.method !== 'POST') {
      return sendApiError(ctx, 405, 'invalid_request_error', `Method ${record.method} not allowed`, { allow: 'POST' });
    }
    if (tooLarge) {
      return sendApiError(ctx, 413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.');
    }
    if (this.#apiKey !== undefined) {
      const key = hasKey(req, this.#apiKey);
      if (key === 'missing') return sendApiError(ctx, 401, 'authentication_error', 'x-api-key header is required');
      if (key === 'wrong') return sendApiError(ctx, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (req.headers['anthropic-version'] === undefined) {
      return sendApiError(ctx, 400, 'invalid_request_error', 'anthropic-version: header is required');
    }
    if (!parsed.ok) {
      return sendApiError(
        ctx,
        400,
        'invalid_request_error',
        `There was an issue with the request body: ${parsed.message}`,
      );
    }
    const validation = validateMessagesRequest(parsed.value);
    if (!validation.ok) return sendApiError(ctx, 400, 'invalid_request_error', validation.message);
    const toolResults = lastToolResults(validation.request);
    record.toolResults = toolResults;

    const attempt = this.#attempts++;
    const retryCount = Number.parseInt(String(req.headers['x-stainless-retry-count'] ?? '0'), 10);
    let reply;
    try {
      reply = await this.#script({
        index: record.index,
        attempt,
        retryCount: Number.isNaN(retryCount) ? 0 : retryCount,
        body: validation.request,
        headers: req.headers,
        toolResults,
      });
    } catch (error) {
      return sendApiError(ctx, 500, 'api_error', `stand-in script failed: ${(error as Error).message}`);
    }
    if (ctx.signal.aborted) return;
    await runReply(ctx, reply, validation.request, {
      attempt,
      cache: this.#cache,
      onUsage: (usage) => {
        record.usage = usage;
      },
    });
  }
}

/**
 * Starts a local HTTP server that speaks the Anthropic Messages API (`POST /v1/messages`), streaming per
 * https://docs.anthropic.com/en/api/messages-streaming, closely enough that `@anthropic-ai/sdk` cannot
 * tell it from the real API. Replies come from the script (see `Reply`: text, tool calls, failures); the
 * server itself answers 404 `not_found_error` for other paths, 401 `authentication_error` for a wrong key
 * (when `apiKey` is set), 400 `invalid_request_error` for a missing `anthropic-version` header or an
 * invalid body (tools, `tool_choice`, `tool_use`/`tool_result` pairing and `cache_control` checked as the
 * API does), and 500 `api_error` when the script throws. Usage reports cache reads and writes from a prompt
 * cache kept per stand-in (see `StandinOptions.promptCache`).
 *
 * @throws the listen error (e.g. `EADDRINUSE`).
 */
export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return new StandinServer(server, options);
}
