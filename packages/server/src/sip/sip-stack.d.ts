// The part of the `sip` package (RFC 3261 messages, transactions, transports) Parlor uses; the
// package ships no declarations.
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null | undefined>;
    headers?: Record<string, string>;
  }
  export interface NameAddr {
    name?: string;
    uri: string;
    params: Record<string, string | null | undefined>;
  }
  export interface SipMessage {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    version?: string;
    headers: Record<string, unknown> & {
      to?: NameAddr;
      from?: NameAddr;
      'call-id'?: string;
      cseq?: { method: string; seq: number };
      contact?: NameAddr[];
      via?: unknown[];
      'record-route'?: NameAddr[];
      route?: NameAddr[];
    };
    content?: string;
  }
  export interface SipStack {
    send(message: SipMessage, callback?: (response: SipMessage) => void): void;
    destroy(): void;
  }
  export function create(
    options: Record<string, unknown>,
    onRequest: (request: SipMessage, remote: { protocol: string; address: string; port: number }) => void,
  ): SipStack;
  export function makeResponse(request: SipMessage, status: number, reason?: string): SipMessage;
  export function parseUri(uri: string): SipUri | undefined;
  export function stringifyUri(uri: SipUri): string;
  export function generateBranch(): string;
}

declare module 'sip/digest.js' {
  import type { SipMessage } from 'sip';
  export function signRequest(
    context: object | null,
    request: SipMessage,
    response: SipMessage,
    credentials: { user: string; password: string },
  ): object | null;
}

declare module 'sip' {
  export interface SipFlow {
    send(message: SipMessage): void;
    release(): void;
    protocol: string;
  }
  export interface SipTransport {
    open(target: SipTarget, onError?: (error: unknown) => void): SipFlow;
    get(target: SipTarget): SipFlow | undefined;
    destroy(): void;
  }
  export interface SipTarget {
    protocol: string;
    address: string;
    port: number;
  }
  export interface SipTransaction {
    send?(message: SipMessage): void;
    message?(message: SipMessage, remote?: SipTarget): void;
    shutdown?(): void;
  }
  export interface SipTransactionLayer {
    createServerTransaction(request: SipMessage, flow: SipFlow | undefined): SipTransaction;
    createClientTransaction(
      flow: SipFlow,
      request: SipMessage,
      callback: (response: SipMessage) => void,
    ): SipTransaction;
    getServer(message: SipMessage): SipTransaction | undefined;
    getClient(message: SipMessage): SipTransaction | undefined;
    destroy(): void;
  }
  export function makeTransport(
    options: Record<string, unknown>,
    onMessage: (message: SipMessage, remote: SipTarget) => void,
  ): SipTransport;
  export function makeTransactionLayer(
    options: Record<string, unknown>,
    open: (target: SipTarget, onError?: (error: unknown) => void) => SipFlow,
  ): SipTransactionLayer;
  export function resolve(uri: SipUri, action: (targets: SipTarget[]) => void): void;
  export function stringify(message: SipMessage): string;
  export function parse(text: string): SipMessage | undefined;
  export function makeStreamParser(
    onMessage: (message: SipMessage) => void,
    onFlood?: () => void,
  ): (data: string) => void;
}
