import type { ErrorId } from '../errors.js';
import { signalingLimits } from './constants.js';

/** Characters a signal type may contain, as OpenTok.js allows them. */
const signalTypePattern = /^[A-Za-z0-9_~-]*$/;

/** What is wrong with a signal, for a `ParlorError`. */
export interface SignalProblem {
  readonly id: Extract<ErrorId, 'SIGNAL_INVALID' | 'SIGNAL_TOO_LARGE'>;
  readonly detail: string;
}

/**
 * Checks a signal's type and data against OpenTok's rules: strings, a type of letters, digits,
 * `-`, `_` and `~` of at most 128 bytes, data of at most 8 kB. Null when the signal is valid.
 */
export function signalProblem(type: unknown, data: unknown): SignalProblem | null {
  if (typeof type !== 'string') return { id: 'SIGNAL_INVALID', detail: 'type must be a string' };
  if (typeof data !== 'string') return { id: 'SIGNAL_INVALID', detail: 'data must be a string' };
  if (utf8Length(type) > signalingLimits.maxSignalTypeBytes) {
    return { id: 'SIGNAL_TOO_LARGE', detail: `type exceeds ${signalingLimits.maxSignalTypeBytes} bytes` };
  }
  if (!signalTypePattern.test(type)) {
    return { id: 'SIGNAL_INVALID', detail: 'type may contain only letters, digits, "-", "_" and "~"' };
  }
  if (utf8Length(data) > signalingLimits.maxSignalDataBytes) {
    return { id: 'SIGNAL_TOO_LARGE', detail: `data exceeds ${signalingLimits.maxSignalDataBytes} bytes` };
  }
  return null;
}

/** Length of the string in UTF-8 bytes (a lone surrogate counts as U+FFFD, as encoders write it). */
function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const point = char.codePointAt(0) ?? 0;
    bytes += point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
  }
  return bytes;
}
