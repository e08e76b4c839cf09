/**
 * The Parlor server an SDK file was loaded from: the script's URL two folders up
 * (`https://host/prefix/v2/js/opentok.js` → `https://host/prefix`), without a trailing slash.
 */
export function apiUrlOf(scriptUrl: string): string {
  return new URL('../../', scriptUrl).href.replace(/\/+$/, '');
}
