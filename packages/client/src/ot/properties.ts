/**
 * `OT.properties` as OpenTok.js exposes it, with the URLs pointing at the Parlor server the SDK
 * came from. Tools built on `OT` read them: OpenTok's pre-call network test checks the logging
 * server with a POST to `{loggingURL}/logging/ClientEvent`, which Parlor answers and drops.
 */
export interface OTProperties {
  readonly apiURL: string;
  readonly apiURLSSL: string;
  readonly loggingURL: string;
  readonly loggingURLSSL: string;
}

/** The properties for a server; with none (the SDK not loaded from Parlor), the page's origin. */
export function otProperties(apiUrl: string | undefined): OTProperties {
  const url = apiUrl ?? '';
  return Object.freeze({ apiURL: url, apiURLSSL: url, loggingURL: url, loggingURLSSL: url });
}
