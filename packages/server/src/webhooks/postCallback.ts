import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { PublicAddressPolicy } from '../nonPublicAddresses.js';

export interface CallbackPost {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly signal: AbortSignal;
  /** Which addresses the POST may go to; all when absent. */
  readonly addresses?: PublicAddressPolicy;
}

/** Refused before a byte is sent: the callback's host is, or resolves to, an address not allowed. */
export class CallbackAddressError extends Error {
  constructor(host: string, address: string) {
    super(
      `${host === address ? '' : `${host} is `}${address}, not a public address (--callback-allowed-ip allows it)`,
    );
    this.name = 'CallbackAddressError';
  }
}

/**
 * POSTs a callback and resolves to the answer's status. The host is checked against the address
 * policy after it is resolved, at each attempt (so a name cannot be pointed at an internal
 * address once registered), and the connection goes to the address checked. The answer's body
 * is never read (it tells nothing, and could be endless), nor any redirect followed.
 */
export async function postCallback(post: CallbackPost): Promise<number> {
  const url = new URL(post.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const { addresses } = post;
  if (addresses && isIP(host) !== 0 && !addresses.permits(host)) throw new CallbackAddressError(host, host);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = request(url, {
      method: 'POST',
      headers: { ...post.headers, 'Content-Length': Buffer.byteLength(post.body) },
      signal: post.signal,
      // A fresh connection per callback: a kept one would skip the lookup, and its check.
      agent: false,
      ...(addresses ? { lookup: checkedLookup(addresses) } : {}),
    });
    outgoing.once('response', resolve);
    outgoing.once('error', reject);
    outgoing.end(post.body);
  });
  response.destroy();
  return response.statusCode ?? 0;
}

/** A DNS lookup for `net.connect` that fails when an address the name resolves to is not allowed. */
function checkedLookup(addresses: PublicAddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
      if (error) {
        callback(error, '', 0);
        return;
      }
      const refused = found.find((entry) => !addresses.permits(entry.address));
      if (refused) {
        callback(
          Object.assign(new CallbackAddressError(hostname, refused.address), { code: 'EACCES' }),
          '',
          0,
        );
        return;
      }
      if (options.all) callback(null, found);
      else callback(null, found[0]?.address ?? '', found[0]?.family ?? 4);
    });
  };
}
