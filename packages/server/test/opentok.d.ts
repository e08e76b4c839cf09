// The parts of the official `opentok` package (2.23, untyped) that the compatibility tests use.
declare module 'opentok' {
  interface OpenTokSession {
    sessionId: string;
    generateToken(options?: OpenTok.TokenOptions): string;
  }
  namespace OpenTok {
    interface TokenOptions {
      role?: string;
      data?: string;
      expireTime?: number;
      initialLayoutClassList?: string[];
    }
    interface SessionOptions {
      mediaMode?: string;
      archiveMode?: string;
      location?: string;
      e2ee?: boolean;
    }
  }
  class OpenTok {
    constructor(apiKey: string, apiSecret: string, options?: { apiUrl?: string } | string);
    createSession(
      options: OpenTok.SessionOptions,
      callback: (error: Error | null, session?: OpenTokSession) => void,
    ): void;
    generateToken(sessionId: string, options?: OpenTok.TokenOptions, legacyT1?: boolean): string;
    listStreams(sessionId: string, callback: (error: Error | null, streams?: unknown[]) => void): void;
    getStream(
      sessionId: string,
      streamId: string,
      callback: (error: Error | null, stream?: unknown) => void,
    ): void;
    signal(
      sessionId: string,
      connectionId: string | null,
      payload: { type?: string; data?: string },
      callback: (error: Error | null) => void,
    ): void;
    forceDisconnect(sessionId: string, connectionId: string, callback: (error: Error | null) => void): void;
    forceMuteStream(sessionId: string, streamId: string, callback: (error: Error | null) => void): void;
    forceMuteAll(
      sessionId: string,
      options: { excludedStreamIds?: string[] },
      callback: (error: Error | null) => void,
    ): void;
    disableForceMute(sessionId: string, callback: (error: Error | null) => void): void;
    setStreamClassLists(
      sessionId: string,
      classListArray: { id: string; layoutClassList: string[] }[],
      callback: (error: Error | null) => void,
    ): void;
  }
  export = OpenTok;
}
