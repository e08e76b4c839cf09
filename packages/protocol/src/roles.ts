/** The roles a client token can carry, as OpenTok defines them. */
export const roles = ['publisher', 'subscriber', 'moderator', 'publisheronly'] as const;
export type Role = (typeof roles)[number];

/** The role a token gets when it names none (every OpenTok SDK's default). */
export const defaultRole: Role = 'publisher';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}
