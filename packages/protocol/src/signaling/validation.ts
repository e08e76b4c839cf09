import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { clientToServer, type ClientMethod } from './clientToServer.js';
import { RequestEnvelope, type RequestFrame } from './frames.js';

/** A client frame as read: a typed request, or why it cannot be one (and its id, if it had one). */
export type ParsedRequest =
  | { readonly ok: true; readonly request: RequestFrame }
  | { readonly ok: false; readonly id: number | null; readonly problem: string };

/**
 * Reads client frames: JSON, then the envelope, then the params of the named method, each
 * against its schema (compiled once). Used at the server's edge; never throws.
 */
export class ClientFrameReader {
  readonly #envelope = TypeCompiler.Compile(RequestEnvelope);
  readonly #params = new Map<string, TypeCheck<TSchema>>(
    Object.entries(clientToServer).map(([method, { params }]) => [method, TypeCompiler.Compile(params)]),
  );

  read(text: string): ParsedRequest {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return { ok: false, id: null, problem: 'the message is not JSON' };
    }
    if (!this.#envelope.Check(frame)) {
      const id = idOf(frame);
      return { ok: false, id, problem: describe(this.#envelope, frame, 'message') };
    }
    const params = this.#params.get(frame.method);
    if (!params)
      return { ok: false, id: frame.id, problem: `unknown method ${JSON.stringify(frame.method)}` };
    const value = frame.params ?? {};
    if (!params.Check(value)) return { ok: false, id: frame.id, problem: describe(params, value, 'params') };
    const method = frame.method as ClientMethod;
    return { ok: true, request: { id: frame.id, method, params: value } as RequestFrame };
  }
}

/** The request id of a frame that failed the envelope check, if it has a usable one. */
function idOf(frame: unknown): number | null {
  if (typeof frame !== 'object' || frame === null || !('id' in frame)) return null;
  const { id } = frame;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}

function describe(check: TypeCheck<TSchema>, value: unknown, what: string): string {
  const first = check.Errors(value).First();
  if (!first) return `invalid ${what}`;
  return `invalid ${what}${first.path ? ` at ${first.path}` : ''}: ${first.message}`;
}
