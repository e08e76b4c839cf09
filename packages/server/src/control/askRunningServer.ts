import { createConnection } from 'node:net';
import {
  controlSocketPath,
  type ControlAnswer,
  type ControlOperation,
  type ControlRequest,
} from './controlProtocol.js';

/** The longest answer read: every answer is a short line. */
const maxAnswerBytes = 64 * 1024;

/**
 * Sends one request over the control channel of the server running on the data directory and
 * resolves to its answer, or to null when no server runs there (no socket, or nobody listening).
 * Rejects when the server does not answer within `timeoutMs` (default 15000) or answers nonsense.
 */
export function askRunningServer<Op extends ControlOperation>(
  dataDir: string,
  request: ControlRequest<Op>,
  timeoutMs = 15_000,
): Promise<ControlAnswer<Op> | null> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(controlSocketPath(dataDir));
    const chunks: Buffer[] = [];
    let length = 0;
    const fail = (why: string): void => {
      socket.destroy();
      reject(new Error(`the running server ${why}`));
    };
    socket.setTimeout(timeoutMs, () => {
      fail(`did not answer in ${timeoutMs} ms`);
    });
    socket.once('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > maxAnswerBytes) fail('answered too much');
    });
    socket.once('end', () => {
      socket.destroy();
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ControlAnswer<Op>);
      } catch {
        reject(new Error('the running server answered nonsense'));
      }
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') resolve(null);
      else reject(error);
    });
  });
}
