import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ServiceError } from '@ctos/protocol';
import { ASCIICAST_CONTENT_TYPE, listRecordings, recordingFile } from '@ctos/runtime';
import type { Express, NextFunction, Request, Response } from 'express';
import { verifyUserToken, type TokenPolicy } from './auth';
import { bindEvent } from './bind-event';
import type { RouteContext, RouteModule } from './types';

/**
 * `terminal:recordings`: the caller's recordings under `TERMINAL_RECORDING_DIR` (issue
 * 19), newest first. Errors: `INVALID_PAYLOAD`, `INTERNAL` (the folder cannot be read).
 */
export function recordingRoutes(context: RouteContext): RouteModule {
  return {
    connect(socket, owner) {
      owner.add(
        bindEvent(socket, context, 'terminal:recordings', async () => ({
          data: { recordings: await listRecordings(context.config.TERMINAL_RECORDING_DIR, socket.data.user) },
        })),
      );
    },
    dispose: () => undefined,
  };
}

/** Answers `status` with `{success: false, code, error}`, as a socket acknowledgement would. */
function refuse(response: Response, status: number, error: ServiceError): void {
  response.status(status).json({ success: false, code: error.code, error: error.message });
}

/**
 * `GET /recordings/<id>.cast`: one recording, streamed to its owner only, as
 * `application/x-asciicast`. The token is the socket's (`Authorization: Bearer <jwt>`).
 * Answers 401 `UNAUTHORIZED` without a valid token, and 404 `NOT_FOUND` for an id that
 * is not one of the caller's recordings — another user's included, so that whether it
 * exists is not told.
 */
export function mountRecordingDownloads(app: Express, root: string, policy: TokenPolicy): void {
  app.get('/recordings/:file', async (request, response) => {
    const header = request.get('authorization') ?? '';
    const token = /^Bearer (\S+)$/i.exec(header)?.[1];
    let user: string;
    try {
      user = await verifyUserToken(token, policy);
    } catch (error) {
      refuse(response, 401, error as ServiceError);
      return;
    }
    const name = request.params.file;
    const file = name.endsWith('.cast') ? recordingFile(root, user, name.slice(0, -'.cast'.length)) : undefined;
    const size = file
      ? await stat(file).then(
          (found) => (found.isFile() ? found.size : undefined),
          () => undefined,
        )
      : undefined;
    if (!file || size === undefined) {
      refuse(response, 404, new ServiceError('NOT_FOUND', 'No such recording.'));
      return;
    }
    response
      .status(200)
      .type(ASCIICAST_CONTENT_TYPE)
      .set('Content-Length', String(size))
      .set('Cache-Control', 'private, no-store');
    // A recording just started (or whose header could not be written) is empty so far.
    if (size === 0) {
      response.end();
      return;
    }
    const stream = createReadStream(file, { start: 0, end: size - 1 });
    stream.on('error', () => response.destroy());
    stream.pipe(response);
  });
  // A path Express cannot decode (`%E0%A4%A`) is no recording either: a 404, never an error page.
  app.use('/recordings', (_error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    refuse(response, 404, new ServiceError('NOT_FOUND', 'No such recording.'));
  });
}
