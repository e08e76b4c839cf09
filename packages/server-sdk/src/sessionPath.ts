import { ArgumentError } from './errors.js';

/** The REST path of a session of the project, checking the ID first. */
export function sessionPath(apiKey: string, sessionId: unknown): string {
  if (typeof sessionId !== 'string' || sessionId === '') {
    throw new ArgumentError('Invalid arguments -- must provide a sessionId string.');
  }
  return `/v2/project/${encodeURIComponent(apiKey)}/session/${encodeURIComponent(sessionId)}`;
}

/** Checks an ID argument other than the session's. */
export function requiredId(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new ArgumentError(`Invalid arguments -- must provide a ${name} string.`);
  }
  return encodeURIComponent(value);
}
