import type { Socket } from 'node:dgram';
import { nativeAddon, type NativeUdpReader } from '../srtp/dataPlane.js';

/** What the native data plane uses of node:dgram's handle of a socket. */
interface DgramHandle {
  readonly fd?: unknown;
  readonly recvStop?: () => number;
  readonly recvStart?: () => number;
}

/**
 * A bound dgram socket's libuv handle, which node:dgram keeps in the socket's state (as
 * `_handle`, deprecated, reads it); undefined if a Node version keeps it elsewhere.
 */
function socketHandle(socket: Socket): DgramHandle | undefined {
  const stateKey = Object.getOwnPropertySymbols(socket).find((key) => key.description === 'state symbol');
  const state = stateKey
    ? (socket as unknown as Record<symbol, { handle?: DgramHandle }>)[stateKey]
    : undefined;
  return state?.handle;
}

/**
 * The descriptor of a bound dgram socket: the native data plane sends on it with `sendmmsg`, and
 * reads it with `recvmmsg`. Null if a Node version keeps it elsewhere.
 */
export function socketFd(socket: Socket): number | null {
  const fd = socketHandle(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Reads a bound IPv4 dgram socket in batches with the addon (`recvmmsg`, one call of `onBatch`
 * per batch; see `NativeUdpReader`) instead of its `message` event per datagram: node:dgram's
 * reads stop (its handle's `recvStop`, which it calls itself before it closes), it still sends
 * and closes the socket. Close the reader before the socket. Null, dgram's reads left on, where
 * the addon or dgram's handle is missing.
 *
 * Should the reader fail (see `NativeUdpReader`), it is closed, dgram's reads start again and
 * `onError` is told: the socket's `message` event carries the datagrams from then on.
 */
export function readInBatches(
  socket: Socket,
  onBatch: (reader: NativeUdpReader, count: number, sinks: number) => void,
  onError: (error: Error) => void,
): NativeUdpReader | null {
  const handle = socketHandle(socket);
  const fd = socketFd(socket);
  if (
    !nativeAddon.available ||
    fd === null ||
    typeof handle?.recvStop !== 'function' ||
    typeof handle.recvStart !== 'function'
  )
    return null;
  handle.recvStop.call(handle);
  const reader: NativeUdpReader = new nativeAddon.addon.UdpReader(
    fd,
    (count, sinks) => {
      onBatch(reader, count, sinks);
    },
    (error) => {
      reader.close();
      handle.recvStart?.call(handle);
      onError(error);
    },
    // performance.now() counts from this point of process.hrtime()'s clock (libuv's, as the reader's).
    Number(process.hrtime.bigint()) / 1e6 - performance.now(),
  );
  return reader;
}
