import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { signalingPath, signalingProtocolVersion } from '@parlor/protocol';

/**
 * A signaling client at the TCP level, for load tests: it opens the WebSocket by hand, connects
 * to a session, then reads and discards every frame (answering pings) — thousands of them cost
 * the test process little — or stops reading altogether, as a stalled client does.
 */
export class BareSignalingClient {
  /** Resolves once the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;
  /** Data frames received after the answer to connect. */
  framesReceived = 0;
  readonly #socket: Socket;
  #buffered: Buffer = Buffer.alloc(0);
  #headersDone = false;
  /** Payload bytes of the current frame still to skip. */
  #skipping = 0;
  #onConnectAnswer: ((text: string) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.#read(chunk);
    });
  }

  /** Opens a socket to the server at `baseUrl` (http) and connects to the session with the token. */
  static async connect(baseUrl: string, sessionId: string, token: string): Promise<BareSignalingClient> {
    const { hostname, port } = new URL(baseUrl);
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) });
    socket.setNoDelay(true);
    const client = new BareSignalingClient(socket);
    const answer = new Promise<string>((resolve, reject) => {
      client.#onConnectAnswer = resolve;
      socket.once('close', () => {
        reject(new Error('the socket closed before connect was answered'));
      });
    });
    socket.write(
      `GET ${signalingPath} HTTP/1.1\r\nHost: ${new URL(baseUrl).host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`,
    );
    client.#sendText(
      JSON.stringify({
        id: 1,
        method: 'connect',
        params: { protocolVersion: signalingProtocolVersion, sessionId, token },
      }),
    );
    const text = await answer;
    const frame = JSON.parse(text) as { ok: boolean; error?: { message: string } };
    if (!frame.ok) {
      socket.destroy();
      throw new Error(`connect refused: ${frame.error?.message ?? text}`);
    }
    return client;
  }

  /** Stops reading from the socket: the server's frames pile up in the kernel, then at the server. */
  stopReading(): void {
    this.#socket.pause();
  }

  /** Cuts the link. */
  destroy(): Promise<void> {
    this.#socket.destroy();
    return this.closed;
  }

  #read(chunk: Buffer): void {
    this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
    if (!this.#headersDone) {
      const end = this.#buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!this.#buffered.subarray(0, 12).toString().includes(' 101')) {
        this.#socket.destroy();
        return;
      }
      this.#headersDone = true;
      this.#buffered = this.#buffered.subarray(end + 4);
    }
    for (;;) {
      if (this.#skipping > 0) {
        const skipped = Math.min(this.#skipping, this.#buffered.length);
        this.#skipping -= skipped;
        this.#buffered = this.#buffered.subarray(skipped);
        if (this.#skipping > 0) return;
      }
      const header = frameHeader(this.#buffered);
      if (!header) return;
      const { opcode, headerLength, payloadLength } = header;
      const waitingForAnswer = this.#onConnectAnswer !== undefined;
      if (opcode === 0x9 || (opcode === 0x1 && waitingForAnswer)) {
        // A ping to answer, or the answer to connect: read the payload whole.
        if (this.#buffered.length < headerLength + payloadLength) return;
        const payload = this.#buffered.subarray(headerLength, headerLength + payloadLength);
        this.#buffered = this.#buffered.subarray(headerLength + payloadLength);
        if (opcode === 0x9) this.#send(0xa, payload);
        else {
          const settle = this.#onConnectAnswer;
          this.#onConnectAnswer = undefined;
          settle?.(payload.toString('utf8'));
        }
        continue;
      }
      if (opcode === 0x8) {
        this.#socket.destroy();
        return;
      }
      if (opcode === 0x1 || opcode === 0x2) this.framesReceived += 1;
      this.#buffered = this.#buffered.subarray(headerLength);
      this.#skipping = payloadLength;
    }
  }

  #sendText(text: string): void {
    this.#send(0x1, Buffer.from(text, 'utf8'));
  }

  /** Sends one final frame, masked as a client must. */
  #send(opcode: number, payload: Buffer): void {
    const length = payload.length;
    const header =
      length < 126
        ? Buffer.from([0x80 | opcode, 0x80 | length])
        : length < 65536
          ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff])
          : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), bigEndian64(length)]);
    const mask = randomBytes(4);
    const masked = Buffer.alloc(length);
    for (let index = 0; index < length; index++)
      masked[index] = (payload[index] as number) ^ (mask[index % 4] as number);
    this.#socket.write(Buffer.concat([header, mask, masked]));
  }
}

/** An unmasked server frame's opcode and lengths, once its header has arrived (RFC 6455 §5.2). */
function frameHeader(
  buffer: Buffer,
): { opcode: number; headerLength: number; payloadLength: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = (buffer[0] as number) & 0x0f;
  const length = (buffer[1] as number) & 0x7f;
  if (length < 126) return { opcode, headerLength: 2, payloadLength: length };
  if (length === 126) {
    return buffer.length < 4 ? undefined : { opcode, headerLength: 4, payloadLength: buffer.readUInt16BE(2) };
  }
  return buffer.length < 10
    ? undefined
    : { opcode, headerLength: 10, payloadLength: Number(buffer.readBigUInt64BE(2)) };
}

function bigEndian64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64BE(BigInt(value));
  return buffer;
}
