import { readdirSync, readFileSync } from 'node:fs';

/** The process's limit on open file descriptors (RLIMIT_NOFILE). */
export interface DescriptorLimit {
  /** The limit in force. */
  readonly soft: number;
  /** How far the process could raise it; Infinity when unlimited. */
  readonly hard: number;
}

/**
 * The descriptor limit in force, from `/proc/self/limits`; null where there is no such file.
 * Node raises the soft limit to the hard one as it starts (on Linux and macOS), so the soft limit
 * read here is already the highest the process may have: nothing is left to raise.
 */
export function descriptorLimit(): DescriptorLimit | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (!match) return null;
  const value = (field: string | undefined): number => (field === 'unlimited' ? Infinity : Number(field));
  return { soft: value(match[1]), hard: value(match[2]) };
}

/** How many descriptors the process has open; null where `/proc/self/fd` cannot be read. */
export function openDescriptors(): number | null {
  try {
    // Less the one the listing itself holds open.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return null;
  }
}

/**
 * How many connections the HTTP server may hold: the descriptor limit less those open now (store,
 * workers, listening sockets…) and a reserve for what opens later besides HTTP connections
 * (archive files and downloads, ICE-TCP, ffmpeg's pipes): an eighth of the limit, at least 64.
 * At least 16, however low the limit.
 */
export function connectionBudget(limit: number, open: number): number {
  const reserve = Math.max(64, Math.ceil(limit / 8));
  return Math.max(16, Math.min(limit - open - reserve, Number.MAX_SAFE_INTEGER));
}
