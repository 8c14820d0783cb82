import type { ChildProcess } from 'node:child_process';

/** A message between the benchmark and one of its helper processes: a `type` and fields. */
export interface IpcMessage {
  type: string;
}

/**
 * Resolves with the next message from `child` whose `type` is `type`.
 * @throws Error when the child exits first, reports `{type: 'error'}`, or `timeoutMs` passes.
 */
export function nextMessage<T extends IpcMessage>(child: ChildProcess, type: T['type'], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: unknown): void => {
      const typed = message as IpcMessage & { error?: string };
      if (typed.type === 'error') {
        cleanup();
        reject(new Error(typed.error ?? 'helper process failed'));
        return;
      }
      if (typed.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`helper process exited (code ${code}) before "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${type}" from a helper process within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Sends `message` to the parent process (in a helper started with an IPC channel). */
export function toParent(message: IpcMessage & Record<string, unknown>): void {
  process.send?.(message);
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
