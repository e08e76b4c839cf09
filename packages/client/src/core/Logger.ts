/** Log levels, most severe first; a logger prints the messages at or below its level. */
export const logLevels = { NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 } as const;
export type LogLevel = (typeof logLevels)[keyof typeof logLevels];

/**
 * The SDK's console logger. It prints nothing above the level the application chose
 * (`OT.setLogLevel`); the default shows errors only.
 */
export class Logger {
  #level: LogLevel = logLevels.ERROR;

  setLevel(level: LogLevel): void {
    this.#level = level;
  }

  error(...args: unknown[]): void {
    if (this.#level >= logLevels.ERROR) console.error('[Parlor]', ...args);
  }

  warn(...args: unknown[]): void {
    if (this.#level >= logLevels.WARN) console.warn('[Parlor]', ...args);
  }

  info(...args: unknown[]): void {
    if (this.#level >= logLevels.INFO) console.info('[Parlor]', ...args);
  }

  log(...args: unknown[]): void {
    if (this.#level >= logLevels.LOG) console.log('[Parlor]', ...args);
  }

  debug(...args: unknown[]): void {
    if (this.#level >= logLevels.DEBUG) console.debug('[Parlor]', ...args);
  }
}
