import type { Role } from '../roles.js';
import type { Capabilities } from './entities.js';

/** What a role may do in a session; the server enforces it (client-api.md §1.6). */
export interface Permissions {
  readonly publish: boolean;
  readonly subscribe: boolean;
  readonly signal: boolean;
  /** Force disconnect, force unpublish and force mute. */
  readonly moderate: boolean;
}

export const rolePermissions: Readonly<Record<Role, Permissions>> = {
  publisher: { publish: true, subscribe: true, signal: true, moderate: false },
  subscriber: { publish: false, subscribe: true, signal: true, moderate: false },
  publisheronly: { publish: true, subscribe: false, signal: false, moderate: false },
  moderator: { publish: true, subscribe: true, signal: true, moderate: true },
};

/** The role's permissions in the shape of OpenTok.js's `session.capabilities`. */
export function capabilitiesOf(role: Role): Capabilities {
  const { publish, subscribe, moderate } = rolePermissions[role];
  const flag = (allowed: boolean): 0 | 1 => (allowed ? 1 : 0);
  return {
    publish: flag(publish),
    subscribe: flag(subscribe),
    forceDisconnect: flag(moderate),
    forceUnpublish: flag(moderate),
    forceMute: flag(moderate),
  };
}
