import { ParlorError } from '@parlor/protocol';

/** Why a client token was refused. */
export const tokenRefusals = [
  'malformed',
  'unknown-project',
  'bad-signature',
  'invalid-scope',
  'invalid-role',
  'expired',
  'issued-in-future',
  'lifetime-too-long',
  'data-too-long',
  'unknown-session',
  'wrong-project',
] as const;
export type TokenRefusal = (typeof tokenRefusals)[number];

/** A client token that cannot be used to connect; `reason` says why. */
export class TokenError extends ParlorError {
  override readonly name = 'TokenError';
  readonly reason: TokenRefusal;

  constructor(reason: TokenRefusal, detail: string) {
    super('TOKEN_REFUSED', detail);
    this.reason = reason;
  }
}
