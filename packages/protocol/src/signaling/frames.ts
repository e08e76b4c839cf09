import { Type, type Static } from '@sinclair/typebox';
import type { ClientMethod, ClientToServer } from './clientToServer.js';
import type { ServerEvent, ServerToClient } from './serverToClient.js';

/**
 * The envelope of every client frame: one JSON text frame per request. `id` is the client's,
 * unique among its requests in flight; the response echoes it.
 */
export const RequestEnvelope = Type.Object(
  {
    id: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    method: Type.String({ maxLength: 64 }),
    params: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

/** An error as the client sees it: OpenTok's numeric code (client-api.md §1.10) and a message. */
export const WireError = Type.Object({ code: Type.Integer(), message: Type.String() });
export type WireError = Static<typeof WireError>;

/** A client request, typed by method. */
export type RequestFrame<M extends ClientMethod = ClientMethod> = {
  [K in M]: { id: number; method: K; params: ClientToServer[K]['params'] };
}[M];

/**
 * The server's answer to one request. `id` is null only when the frame it answers could not be
 * read (not JSON, too large, no id).
 */
export type ResponseFrame<M extends ClientMethod = ClientMethod> =
  | { id: number; ok: true; result: ClientToServer[M]['result'] }
  | { id: number | null; ok: false; error: WireError };

/** An event the server pushes; `seq` counts this connection's events from 1. */
export type EventFrame<E extends ServerEvent = ServerEvent> = {
  [K in E]: { event: K; seq: number; data: ServerToClient[K] };
}[E];

/** Any frame the server sends. */
export type ServerFrame = ResponseFrame | EventFrame;
