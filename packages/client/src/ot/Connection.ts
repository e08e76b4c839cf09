import type { ConnectionInfo } from '@parlor/protocol';

/** A client in a session, as OpenTok.js shows it. */
export class Connection {
  readonly connectionId: string;
  /** Unix milliseconds. */
  readonly creationTime: number;
  /** The token's connection data; every client can read it. */
  readonly data: string;

  constructor(info: ConnectionInfo) {
    this.connectionId = info.connectionId;
    this.creationTime = info.creationTime;
    this.data = info.data;
  }
}
