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
    interface ArchiveOptions {
      name?: string;
      hasAudio?: boolean;
      hasVideo?: boolean;
      outputMode?: string;
      resolution?: string;
      layout?: { type: string; stylesheet?: string; screenshareType?: string };
      streamMode?: string;
      multiArchiveTag?: string;
    }
    interface Archive {
      id: string;
      status: string;
      name: string | null;
      reason: string;
      sessionId: string;
      projectId: number;
      partnerId: number;
      createdAt: number;
      updatedAt: number;
      duration: number;
      size: number;
      outputMode: string;
      hasAudio: boolean;
      hasVideo: boolean;
      streamMode: string;
      streams: { streamId: string; hasAudio: boolean; hasVideo: boolean }[];
      url: string | null;
      resolution?: string;
      event?: string;
    }
    interface Callback {
      id: string;
      group: string;
      event: string;
      url: string;
      createdAt: number;
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
    dial(
      sessionId: string,
      token: string,
      sipUri: string,
      options: Record<string, unknown>,
      callback: (error: Error | null, call?: { id: string; connectionId: string; streamId: string }) => void,
    ): void;
    playDTMF(
      sessionId: string,
      connectionId: string | null,
      digits: string,
      callback: (error: Error | null) => void,
    ): void;
    forceMuteStream(sessionId: string, streamId: string, callback: (error: Error | null) => void): void;
    forceMuteAll(
      sessionId: string,
      options: { excludedStreamIds?: string[] },
      callback: (error: Error | null) => void,
    ): void;
    disableForceMute(sessionId: string, callback: (error: Error | null) => void): void;
    startArchive(
      sessionId: string,
      options: OpenTok.ArchiveOptions,
      callback: (error: Error | null, archive?: OpenTok.Archive | Error) => void,
    ): void;
    stopArchive(archiveId: string, callback: (error: Error | null, archive?: OpenTok.Archive) => void): void;
    getArchive(archiveId: string, callback: (error: Error | null, archive?: OpenTok.Archive) => void): void;
    listArchives(
      options: { offset?: number; count?: number; sessionId?: string },
      callback: (error: Error | null, archives?: OpenTok.Archive[], count?: number) => void,
    ): void;
    deleteArchive(archiveId: string, callback: (error: Error | null) => void): void;
    addArchiveStream(
      archiveId: string,
      streamId: string,
      options: { hasAudio?: boolean; hasVideo?: boolean },
      callback: (error: Error | null) => void,
    ): void;
    removeArchiveStream(archiveId: string, streamId: string, callback: (error: Error | null) => void): void;
    setArchiveLayout(
      archiveId: string,
      type: string,
      stylesheet: string | null,
      callback: (error: Error | null) => void,
    ): void;
    registerCallback(
      options: { group: string; event: string; url: string },
      callback: (error: Error | null, callback?: OpenTok.Callback) => void,
    ): void;
    listCallbacks(callback: (error: Error | null, callbacks?: OpenTok.Callback[]) => void): void;
    unregisterCallback(callbackId: string, callback: (error: Error | null) => void): void;
    setStreamClassLists(
      sessionId: string,
      classListArray: { id: string; layoutClassList: string[] }[],
      callback: (error: Error | null) => void,
    ): void;
  }
  export = OpenTok;
}
