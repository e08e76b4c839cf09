import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The script of a worker thread, `name` (without extension) beside the module at `moduleUrl`:
 * its `.js` once built. Running from the TypeScript sources (tests), Node 20 does not carry
 * `--import tsx` into worker threads, so the worker registers tsx itself before loading it.
 */
export function workerEntry(moduleUrl: string, name: string): URL {
  if (extname(fileURLToPath(moduleUrl)) === '.js') return new URL(`./${name}.js`, moduleUrl);
  const source = new URL(`./${name}.ts`, moduleUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(source)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
