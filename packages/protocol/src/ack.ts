import type { ErrorCode } from './errors';

/**
 * The acknowledgement envelope, as the original ChingTech OS client reads it:
 * `{success: true, ...data}` on success, `{success: false, error, code}` on failure.
 */
export type AckOk<T extends object = object> = { success: true } & T;

/** A failed acknowledgement: `error` is for people, `code` is for programs. */
export interface AckFail {
  success: false;
  /** A sentence a person can act on; never an internal exception text. */
  error: string;
  code: ErrorCode;
}

/** What an acknowledged event answers with. */
export type AckResponse<T extends object = object> = AckOk<T> | AckFail;

/** The callback Socket.IO passes as the last argument of an acknowledged event. */
export type AckCallback<T extends object = object> = (response: AckResponse<T>) => void;

/** Builds a successful acknowledgement. */
export function ackOk<T extends object>(data: T): AckOk<T> {
  return { success: true, ...data };
}

/** Builds a failed acknowledgement. */
export function ackFail(code: ErrorCode, error: string): AckFail {
  return { success: false, error, code };
}
