/**
 * Clock difference tolerated between the server that signed a token (an application server, or
 * its SDK) and Parlor, in seconds: REST JWTs and client tokens issued up to this far ahead of
 * Parlor's clock are accepted, and REST JWTs up to this far past their expiry.
 */
export const clockSkewSeconds = 120;
