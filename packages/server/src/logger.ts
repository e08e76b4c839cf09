import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/config.js';

/** The server's root logger: JSON lines on stderr, so stdout keeps the banner and CLI output. */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { service: 'parlor' } }, pino.destination(2));
}
