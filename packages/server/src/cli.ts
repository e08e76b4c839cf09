import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  ConfigError,
  configFlags,
  describeSettings,
  loadConfig,
  loadDrainConfig,
  type Config,
  type DrainConfig,
} from './config/config.js';
import { createLogger } from './logger.js';
import { ParlorServer, recordingsDirName, storeFileName, storeLocationOf } from './ParlorServer.js';
import { ParlorError, type SessionSettings } from '@parlor/protocol';
import { ArgumentError, OpenTok } from '@parlor/server-sdk';
import {
  createOperator,
  createOperatorToken,
  listOperatorTokens,
  revokeOperatorToken,
  type OperatorTokenInfo,
} from './console/ConsoleAuth.js';
import { disconnectEverywhere } from './console/disconnectEverywhere.js';
import { recentCount, sessionSummary, type SessionSummary } from './console/recentSessions.js';
import { callbackKindsByName, isCallbackKindName, type CallbackKindName } from './console/testCallback.js';
import { askRunningServer } from './control/askRunningServer.js';
import type { ControlAnswer, ControlOperation, ControlRequest } from './control/controlProtocol.js';
import { ApplicationService } from './projects/ApplicationService.js';
import { CallbackService } from './projects/CallbackService.js';
import { ProjectService } from './projects/ProjectService.js';
import { SessionService } from './sessions/SessionService.js';
import { parseSessionSettings } from './sessions/sessionSettings.js';
import type { Application } from './store/ApplicationRepository.js';
import type { ArchiveRecord } from './store/ArchiveRepository.js';
import type { DeliveryOutcome } from './store/DeliveryHistoryRepository.js';
import type { Project } from './store/ProjectRepository.js';
import { Store } from './store/Store.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const usage = `Parlor ${version}: a self-hosted video platform with the OpenTok API

Usage:
  parlor start [options]                 run the server
  parlor project create --name NAME      add a project and print its credentials
  parlor project list                    list the projects and their credentials
  parlor project callback --api-key KEY [--kind archive|session|sip] [--url URL | --clear]
                         [--test]
                                         show, set or remove the URL the project's archive
                                         status changes (or, with --kind session, its session
                                         monitoring events; with --kind sip, its SIP call
                                         events) are POSTed to; --test has the running server
                                         send it a signed test event, and says how it went
  parlor project deliveries --api-key KEY
                                         the last deliveries of the project's callbacks: time,
                                         event, outcome, attempts
  parlor project rename --api-key KEY --name NAME
  parlor project suspend --api-key KEY   refuse the project's REST calls and client tokens,
                                         and disconnect its clients from the server running on
                                         this data directory (in a cluster, run with a node's
                                         settings: from every node)
  parlor project reactivate --api-key KEY
  parlor project rotate-secret --api-key KEY
                                         give the project a new API secret (printed); the
                                         old one is refused from now on
  parlor project signature-secret --api-key KEY [--rotate]
                                         show (or replace) the secret that signs the
                                         project's callbacks (docs/callbacks.md)
  parlor session create --api-key KEY [--media-mode relayed|routed] [--archive-mode manual|always]
                       [--location IP]
                                         create a session of the project (relayed by default,
                                         as OpenTok's) and print its ID
  parlor session list --api-key KEY      the project's 50 newest sessions, with who is in
                                         them now (asked of the running server)
  parlor token create --api-key KEY --session-id ID [--role publisher|subscriber|moderator]
                      [--data TEXT] [--expire-in SECONDS]
                                         print a client token for the session (a publisher's
                                         for a day by default, as the SDKs make)
  parlor application create --name NAME [--private-key-out FILE | --public-key FILE]
                                         add a Vonage application (RS256 credentials): with a
                                         new key pair, its private key written to FILE (or
                                         printed once), or with an existing public key
  parlor application list                list the applications
  parlor admin create --name NAME       add a console operator (or set their password), the
                                         password read from standard input
  parlor admin token --name NAME --label LABEL
                                         make an API token for the console's API acting as
                                         that operator, printed once (docs/console.md)
  parlor admin tokens                    list the API tokens: ID, operator, label, last use
  parlor admin revoke-token TOKEN_ID     revoke an API token, on every node
  parlor archive list --api-key KEY      the project's 50 newest archives: status, duration,
                                         size (download them by REST)
  parlor archive delete ID               delete an available archive and its files, as REST's
                                         DELETE does (asked of the running server)
  parlor archive retry ID                make a failed archive's output again from its kept
                                         recordings: a running server does it within 5 s,
                                         a stopped one at its next start
  parlor node drain [--url URL]          a cluster node (at URL, default this node's
                                         --internal-url) takes no new session and moves its
                                         clients to other nodes, without stopping; needs
                                         the node's --cluster-secret (no other setting)

Options (each also read from its environment variable):
${describeSettings()}`;

/** Input and output streams, replaceable for tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Standard input's first line (a password), without its line end. Default: the process's. */
  readonly readLine?: () => Promise<string>;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

async function readStdinLine(): Promise<string> {
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

/** Runs the `parlor` command; resolves to the exit code. `start` resolves after shutdown. */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: CliIo = processIo,
): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  const { command, flags, operands } = parsed;
  if (command === 'help' || flags.help) {
    io.out(`${usage}\n`);
    return 0;
  }

  let config: Config;
  try {
    // A drain only calls the node: the rest of the node's settings need not be given, nor valid.
    if (command === 'node drain') return await drainNode(loadDrainConfig(env, flags), flags, io);
    config = loadConfig(env, flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`${error.message}\n`);
    return 2;
  }

  switch (command) {
    case 'start':
      return runServer(config, io);
    case 'project create':
      if (typeof flags.name !== 'string' || flags.name.trim() === '') {
        io.err('parlor project create needs --name NAME\n');
        return 2;
      }
      return withProjects(config, async (projects) => {
        const project = await projects.create(flags.name as string);
        io.out(
          `Created project "${project.name}"\n  API key     ${project.apiKey}\n  API secret  ${project.apiSecret}\n`,
        );
      });
    case 'project list':
      return withProjects(config, async (projects) => {
        io.out(formatProjects(await projects.list()));
      });
    case 'project callback':
      return projectCallback(config, flags, io);
    case 'project deliveries':
      return projectDeliveries(config, flags, io);
    case 'project signature-secret':
      return projectSignatureSecret(config, flags, io);
    case 'project rename':
    case 'project suspend':
    case 'project reactivate':
    case 'project rotate-secret':
      return changeProject(config, command, flags, io);
    case 'session create':
      return createSession(config, flags, io);
    case 'session list':
      return listSessions(config, flags, io);
    case 'token create':
      return createClientToken(config, flags, io);
    case 'application create':
      return createApplication(config, flags, io);
    case 'application list':
      return withStore(config, async (store) => {
        io.out(formatApplications(await new ApplicationService(store).list()));
      });
    case 'archive list':
      return listArchives(config, flags, io);
    case 'archive retry':
      return retryArchive(config, operands, io);
    case 'archive delete':
      return deleteArchive(config, operands, io);
    case 'admin create':
      return createAdmin(config, flags, io);
    case 'admin token':
      return createAdminToken(config, flags, io);
    case 'admin tokens':
      return withStore(config, async (store) => {
        io.out(formatOperatorTokens(await listOperatorTokens(store.operators)));
      });
    case 'admin revoke-token':
      return revokeAdminToken(config, operands, io);
  }
}

const commands = [
  'start',
  'help',
  'project create',
  'project list',
  'project callback',
  'project deliveries',
  'project signature-secret',
  'project rename',
  'project suspend',
  'project reactivate',
  'project rotate-secret',
  'session create',
  'session list',
  'token create',
  'application create',
  'application list',
  'archive list',
  'archive retry',
  'archive delete',
  'node drain',
  'admin create',
  'admin token',
  'admin tokens',
  'admin revoke-token',
] as const;
/** Commands followed by one operand (an ID). */
const commandsWithOperand: readonly Command[] = ['archive retry', 'archive delete', 'admin revoke-token'];
type Command = (typeof commands)[number];

function parseCommandLine(argv: readonly string[]): {
  command: Command;
  flags: Record<string, string | boolean | undefined>;
  operands: string[];
} {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      ...configFlags,
      name: { type: 'string' },
      label: { type: 'string' },
      'private-key-out': { type: 'string' },
      'public-key': { type: 'string' },
      'api-key': { type: 'string' },
      url: { type: 'string' },
      clear: { type: 'boolean' },
      test: { type: 'boolean' },
      kind: { type: 'string' },
      rotate: { type: 'boolean' },
      'media-mode': { type: 'string' },
      'archive-mode': { type: 'string' },
      location: { type: 'string' },
      'session-id': { type: 'string' },
      role: { type: 'string' },
      data: { type: 'string' },
      'expire-in': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  const withOperand = commandsWithOperand.find((name) => positionals.slice(0, 2).join(' ') === name);
  const command = withOperand ?? (positionals.join(' ') || 'start');
  if (!(commands as readonly string[]).includes(command)) throw new Error(`Unknown command: ${command}`);
  return { command: command as Command, flags: values, operands: withOperand ? positionals.slice(2) : [] };
}

async function runServer(config: Config, io: CliIo): Promise<number> {
  // Listen for the stop signal before anything else: a signal that came before the handler
  // would kill the process with the store open.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const logger = createLogger(config.logLevel);
  let server: ParlorServer;
  try {
    server = await ParlorServer.start(config, logger);
  } catch (error) {
    io.err(`Parlor could not start: ${(error as Error).message}\n`);
    return 1;
  }
  io.out(banner(server, config));

  const signal = await stopSignal;
  // A second signal while draining exits at once.
  const forceExit = (): never => process.exit(1);
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  io.out(`\n${signal}: stopping Parlor…\n`);
  // A cluster node drains first: its live sessions may end before it goes (a second signal stops it at once).
  await server.stop();
  process.off('SIGINT', forceExit);
  process.off('SIGTERM', forceExit);
  io.out('Parlor stopped.\n');
  return 0;
}

function banner(server: ParlorServer, config: Config): string {
  const { apiKey, apiSecret } = server.defaultProject;
  const url = server.publicUrl;
  const cluster = server.cluster
    ? `\n  Cluster      node ${server.cluster.nodeId} in region ${config.cluster?.region ?? ''}`
    : '';
  const consoleLine =
    server.consoleSetupUrl === null
      ? `${url}/console`
      : `${url}/console\n  Setup link   ${server.consoleSetupUrl}\n               (one-time: makes the console's first operator; or run parlor admin create)`;
  const demo = config.demo
    ? `${url}/   (video chat: open it in two tabs, or share its link)`
    : 'off   (npm start -- --demo serves a video chat at /)';
  return `
Parlor ${version} is running.

  Public URL   ${url}
  Listening    ${server.listenUrl}
  REST API     ${url}   (the apiUrl of an OpenTok server SDK)
  Health       ${url}/health
  Demo         ${demo}
  Console      ${consoleLine}
  Browser SDK  ${url}/v2/js/opentok.js   (OpenTok.js's global OT)${cluster}

  Default project
  API key      ${apiKey}
  API secret   ${apiSecret}

  Data         ${join(config.dataDir, storeFileName)}

Press Ctrl+C to stop.
`;
}

function withProjects(config: Config, run: (projects: ProjectService) => Promise<void>): Promise<number> {
  return withStore(config, (store) => run(new ProjectService(store)));
}

/** Ends a command run in `withStore` with an exit code, after it has said why. */
class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

async function withStore(config: Config, run: (store: Store) => Promise<void>): Promise<number> {
  const store = await Store.open(storeLocationOf(config));
  try {
    await run(store);
    return 0;
  } catch (error) {
    if (error instanceof CliExit) return error.code;
    throw error;
  } finally {
    await store.close();
  }
}

/** Asks a cluster node to drain (`POST /v2/cluster/drain` with the cluster secret), without stopping it. */
async function drainNode(
  config: DrainConfig,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const secret = config.clusterSecret;
  const url = typeof flags.url === 'string' ? flags.url : config.internalUrl;
  if (secret === null || url === null) {
    io.err(
      "parlor node drain needs the node's cluster settings (--cluster-secret, and --internal-url or --url): run it with the node's environment\n",
    );
    return 2;
  }
  let response: Response;
  try {
    response = await fetch(new URL('/v2/cluster/drain', url), {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const why = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    io.err(`parlor node drain: cannot reach ${url}: ${why}\n`);
    return 1;
  }
  const text = await response.text();
  if (!response.ok) {
    io.err(`parlor node drain: ${url} answered ${response.status}: ${text}\n`);
    return 1;
  }
  const { nodeId } = JSON.parse(text) as { nodeId: string };
  io.out(`Node ${nodeId} at ${url} is draining: its clients move to other nodes.\n`);
  return 0;
}

/**
 * Puts a failed archive back to `stopped` in the store, in one conditional write: the server on
 * this data directory (running now, or at its next start) makes its output. The command makes
 * nothing itself, so it never races a server making the same archive.
 */
async function retryArchive(config: Config, operands: readonly string[], io: CliIo): Promise<number> {
  const [archiveId] = operands;
  if (archiveId === undefined || operands.length !== 1) {
    io.err('parlor archive retry needs one archive ID\n');
    return 2;
  }
  return withStore(config, async (store) => {
    const archive = await store.archives.find(archiveId);
    const refuse = (why: string): never => {
      io.err(`parlor archive retry: ${why}\n`);
      throw new CliExit(2);
    };
    if (!archive) refuse(`no archive ${archiveId}`);
    else if (archive.status !== 'failed')
      refuse(`archive ${archiveId} is ${archive.status}: only a failed archive is retried`);
    else if (!existsSync(join(config.dataDir, recordingsDirName, archiveId)))
      refuse(`archive ${archiveId}'s recordings were not kept: there is nothing to make it from`);
    else if (!(await store.archives.retry(archiveId, Date.now())))
      refuse(`archive ${archiveId} changed meanwhile; try again`);
    io.out(
      `Archive ${archiveId} will be made again: by the running server within seconds, or at its next start.\n`,
    );
  });
}

/**
 * Has the running server delete an archive, as REST's DELETE does: its status becomes `deleted`
 * (and the project's archive callback says so) and its files go. Exits 1 when no server runs here.
 */
async function deleteArchive(config: Config, operands: readonly string[], io: CliIo): Promise<number> {
  const [archiveId] = operands;
  if (archiveId === undefined || operands.length !== 1) {
    io.err('parlor archive delete needs one archive ID\n');
    return 2;
  }
  return withStore(config, async (store) => {
    const archive = await store.archives.find(archiveId);
    if (!archive) {
      io.err(`parlor archive delete: no archive ${archiveId}\n`);
      throw new CliExit(2);
    }
    const request = { op: 'deleteArchive', apiKey: archive.apiKey, archiveId } as const;
    if ((await askControl(config, 'archive delete', request, io)) === null) {
      io.err(
        `parlor archive delete: no Parlor server runs on ${config.dataDir}; the running server deletes archives\n`,
      );
      throw new CliExit(1);
    }
    io.out(`Archive ${archiveId} deleted.\n`);
  });
}

/** How `parlor project callback --kind` names each URL. */
const callbackLabels: Readonly<Record<CallbackKindName, string>> = {
  archive: 'archive callback URL',
  session: 'session monitoring URL',
  sip: 'SIP callback URL',
};

async function createAdmin(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const name = flags.name;
  if (typeof name !== 'string') {
    io.err('parlor admin create needs --name NAME, and the password on standard input\n');
    return 2;
  }
  io.err(`Password for ${name}: `);
  const password = await (io.readLine ?? readStdinLine)();
  return withStore(config, async (store) => {
    try {
      await createOperator(store.operators, name, password);
    } catch (error) {
      if (!(error instanceof ParlorError)) throw error;
      io.err(`\nparlor admin create: ${error.message}\n`);
      throw new CliExit(2);
    }
    io.out(`\nOperator ${name} can log in to /console.\n`);
  });
}

async function createAdminToken(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const { name, label } = flags;
  if (typeof name !== 'string' || typeof label !== 'string') {
    io.err('parlor admin token needs --name NAME and --label LABEL\n');
    return 2;
  }
  return withStore(config, async (store) => {
    try {
      const { token } = await createOperatorToken(store.operators, name, label);
      io.out(`${token}\n`);
      io.err(`An API token acting as ${name}: shown once, revoke it in the console.\n`);
    } catch (error) {
      if (!(error instanceof ParlorError)) throw error;
      io.err(`parlor admin token: ${error.message}\n`);
      throw new CliExit(2);
    }
  });
}

async function revokeAdminToken(config: Config, operands: readonly string[], io: CliIo): Promise<number> {
  const [tokenId] = operands;
  if (tokenId === undefined || operands.length !== 1) {
    io.err('parlor admin revoke-token needs one token ID (parlor admin tokens lists them)\n');
    return 2;
  }
  return withStore(config, async (store) => {
    try {
      await revokeOperatorToken(store.operators, tokenId);
    } catch (error) {
      if (!(error instanceof ParlorError)) throw error;
      io.err(`parlor admin revoke-token: ${error.message}\n`);
      throw new CliExit(2);
    }
    io.out(`API token ${tokenId} revoked: it is refused from now on.\n`);
  });
}

async function projectCallback(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const apiKey = flags['api-key'];
  const { url, clear } = flags;
  const kindName = flags.kind ?? 'archive';
  if (
    typeof apiKey !== 'string' ||
    (typeof url === 'string' && clear === true) ||
    !isCallbackKindName(kindName)
  ) {
    io.err(
      'parlor project callback needs --api-key KEY, optionally --kind archive, session or sip, and --url URL or --clear (not both)\n',
    );
    return 2;
  }
  const kind = callbackKindsByName[kindName];
  const label = callbackLabels[kindName];
  return withProject(config, 'project callback', apiKey, io, async (store) => {
    const callbacks = new CallbackService(store);
    try {
      if (typeof url === 'string') await callbacks.setUrl(apiKey, kind, url);
      else if (clear === true) await callbacks.setUrl(apiKey, kind, null);
    } catch (error) {
      if (!(error instanceof ParlorError)) throw error;
      io.err(`parlor project callback: ${error.message}\n`);
      throw new CliExit(2);
    }
    const current = await callbacks.urlFor(apiKey, kind);
    const title = label.charAt(0).toUpperCase() + label.slice(1);
    io.out(current === null ? `No ${label}.\n` : `${title}  ${current}\n`);
    if (flags.test === true) await sendTestEvent(config, store, apiKey, kindName, io);
  });
}

/** How long `--test` waits for the test event's first attempt (which may take 10 s) to end. */
const testOutcomeWaitMs = 15_000;

/**
 * Has the running server queue a test event to the URL (as the console's button does), then
 * waits for its first attempt's outcome in the deliveries history and tells it: exits 1 when it
 * failed (the server retries it) or no server runs here.
 */
async function sendTestEvent(
  config: Config,
  store: Store,
  apiKey: string,
  kind: CallbackKindName,
  io: CliIo,
): Promise<void> {
  const before = (await store.deliveryHistory.list(apiKey))[0]?.deliveryId ?? 0;
  const answer = await askControl(config, 'project callback', { op: 'testCallback', apiKey, kind }, io);
  if (answer === null) {
    io.err(
      `parlor project callback: no Parlor server runs on ${config.dataDir}; the running server sends the test event\n`,
    );
    throw new CliExit(1);
  }
  const deadline = Date.now() + testOutcomeWaitMs;
  for (;;) {
    const outcome = (await store.deliveryHistory.list(apiKey)).find(
      (each) => each.deliveryId > before && each.event === 'test' && each.url === answer.url,
    );
    if (outcome?.state === 'delivered') {
      io.out(`Test event delivered to ${answer.url} (${outcome.result})\n`);
      return;
    }
    if (outcome) {
      io.err(
        `Test event to ${answer.url} failed (${outcome.result}): the server retries it; \`parlor project deliveries --api-key ${apiKey}\` shows how it goes\n`,
      );
      throw new CliExit(1);
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  io.out(
    `Test event queued for ${answer.url}, not attempted yet (an earlier one may be retrying): \`parlor project deliveries --api-key ${apiKey}\` shows how it goes\n`,
  );
}

async function projectDeliveries(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  return withProjectFlag(config, 'project deliveries', flags, io, async (store, apiKey) => {
    io.out(formatDeliveries(await store.deliveryHistory.list(apiKey)));
  });
}

/**
 * Sends a request over the control channel of the server running on the data directory: its
 * answer, or null when none runs there. A refusal or no answer is told, and exits 1.
 */
async function askControl<Op extends ControlOperation>(
  config: Config,
  command: string,
  request: ControlRequest<Op>,
  io: CliIo,
): Promise<(ControlAnswer<Op> & { ok: true }) | null> {
  let answer: ControlAnswer<Op> | null;
  try {
    answer = await askRunningServer(config.dataDir, request);
  } catch (error) {
    io.err(`parlor ${command}: ${(error as Error).message}\n`);
    throw new CliExit(1);
  }
  if (answer?.ok === false) {
    io.err(`parlor ${command}: the running server refused: ${answer.message}\n`);
    throw new CliExit(1);
  }
  return answer;
}

async function projectSignatureSecret(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const apiKey = flags['api-key'];
  if (typeof apiKey !== 'string') {
    io.err('parlor project signature-secret needs --api-key KEY, and --rotate to replace the secret\n');
    return 2;
  }
  return withProject(config, 'project signature-secret', apiKey, io, async (store) => {
    const callbacks = new CallbackService(store);
    const secret =
      flags.rotate === true
        ? await callbacks.rotateSignatureSecret(apiKey)
        : await callbacks.signatureSecret(apiKey);
    io.out(`Signature secret  ${secret}\n`);
  });
}

/** Renames, suspends, reactivates a project or rotates its API secret, as the console does. */
async function changeProject(
  config: Config,
  command: 'project rename' | 'project suspend' | 'project reactivate' | 'project rotate-secret',
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const apiKey = flags['api-key'];
  const name = flags.name;
  if (
    typeof apiKey !== 'string' ||
    (command === 'project rename' && (typeof name !== 'string' || name.trim() === ''))
  ) {
    io.err(
      `parlor ${command} needs --api-key KEY${command === 'project rename' ? ' and --name NAME' : ''}\n`,
    );
    return 2;
  }
  return withProject(config, command, apiKey, io, async (store) => {
    const projects = new ProjectService(store);
    switch (command) {
      case 'project rename':
        await projects.rename(apiKey, (name as string).trim());
        io.out(`Project ${apiKey} is now "${(name as string).trim()}"\n`);
        return;
      case 'project suspend':
      case 'project reactivate': {
        const suspended = command === 'project suspend';
        await projects.setSuspended(apiKey, suspended);
        io.out(
          `Project ${apiKey} ${suspended ? 'suspended: its REST calls and client tokens are refused' : 'reactivated'}\n`,
        );
        if (suspended) await disconnectSuspended(config, apiKey, io);
        return;
      }
      case 'project rotate-secret':
        io.out(`API secret  ${await projects.rotateSecret(apiKey)}\n`);
    }
  });
}

/**
 * Disconnects a suspended project's live clients, as the console does: those of the server
 * running on this data directory, by its control channel; in a cluster, those of every node, by
 * the nodes' signed calls. Exits 1 when a server could not be told.
 */
async function disconnectSuspended(config: Config, apiKey: string, io: CliIo): Promise<void> {
  const secret = config.cluster?.secret ?? null;
  if (!config.cluster || secret === null) {
    const answer = await askControl(config, 'project suspend', { op: 'disconnectProject', apiKey }, io);
    io.out(
      answer === null
        ? `No Parlor server runs on ${config.dataDir}: no client to disconnect.\n`
        : `${answer.disconnected} connected client${answer.disconnected === 1 ? '' : 's'} disconnected\n`,
    );
    return;
  }
  try {
    const { disconnected, failures } = await disconnectEverywhere({
      url: config.cluster.internalUrl,
      secret,
      apiKey,
    });
    io.out(`${disconnected} connected client${disconnected === 1 ? '' : 's'} disconnected\n`);
    if (failures.length === 0) return;
    io.err(`Clients of these nodes stay connected until they reconnect: ${failures.join('; ')}\n`);
  } catch (error) {
    const why = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    io.err(`Its clients stay connected until they reconnect: the cluster could not be asked (${why})\n`);
  }
  throw new CliExit(1);
}

/** Runs `fn` on the store when the project exists; else exits with 2. */
function withProject(
  config: Config,
  command: string,
  apiKey: string,
  io: CliIo,
  fn: (store: Store) => Promise<void>,
): Promise<number> {
  return withStore(config, async (store) => {
    if (!(await new ProjectService(store).find(apiKey))) {
      io.err(`parlor ${command}: no project ${apiKey}\n`);
      throw new CliExit(2);
    }
    await fn(store);
  });
}

/**
 * Runs a command that takes only `--api-key KEY`: says so and exits 2 without it, as
 * `withProject` does for a key no project has.
 */
function withProjectFlag(
  config: Config,
  command: string,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
  fn: (store: Store, apiKey: string) => Promise<void>,
): Promise<number> {
  const apiKey = flags['api-key'];
  if (typeof apiKey !== 'string') {
    io.err(`parlor ${command} needs --api-key KEY\n`);
    return Promise.resolve(2);
  }
  return withProject(config, command, apiKey, io, (store) => fn(store, apiKey));
}

/** Creates a session of a project, as `POST /session/create` does. */
async function createSession(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const apiKey = flags['api-key'];
  const mediaMode = flags['media-mode'] ?? 'relayed';
  if (typeof apiKey !== 'string' || (mediaMode !== 'relayed' && mediaMode !== 'routed')) {
    io.err('parlor session create needs --api-key KEY, and --media-mode relayed or routed if given\n');
    return 2;
  }
  let settings: SessionSettings;
  try {
    settings = parseSessionSettings({
      'p2p.preference': mediaMode === 'relayed' ? 'enabled' : 'disabled',
      archiveMode: flags['archive-mode'],
      location: flags.location,
    });
  } catch (error) {
    if (!(error instanceof ParlorError)) throw error;
    io.err(`parlor session create: ${error.message}\n`);
    return 2;
  }
  return withProject(config, 'session create', apiKey, io, async (store) => {
    const session = await new SessionService(store).create(apiKey, settings);
    io.out(`Session ID  ${session.sessionId}\n`);
  });
}

/**
 * Lists the project's newest sessions as the console does, with their live state when a server
 * runs on this data directory (in a cluster, asked of the nodes hosting them); else from the store.
 */
async function listSessions(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  return withProjectFlag(config, 'session list', flags, io, async (store, apiKey) => {
    const answer = await askControl(config, 'session list', { op: 'recentSessions', apiKey }, io);
    const sessions =
      answer?.sessions ??
      (await new SessionService(store).recent(apiKey, recentCount)).map((each) => sessionSummary(each, null));
    io.out(formatSessions(sessions));
    if (answer === null && sessions.length > 0)
      io.out(`No Parlor server runs on ${config.dataDir}: nobody is in these sessions.\n`);
  });
}

async function listArchives(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  return withProjectFlag(config, 'archive list', flags, io, async (store, apiKey) => {
    const { items } = await store.archives.list(apiKey, { offset: 0, count: recentCount });
    io.out(formatArchives(items));
  });
}

/** Prints a client token for a session of the project, as the server SDKs make them. */
async function createClientToken(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const apiKey = flags['api-key'];
  const sessionId = flags['session-id'];
  const expireIn = flags['expire-in'];
  const seconds = typeof expireIn === 'string' ? Number(expireIn) : null;
  if (
    typeof apiKey !== 'string' ||
    typeof sessionId !== 'string' ||
    (seconds !== null && !(Number.isInteger(seconds) && seconds > 0))
  ) {
    io.err(
      'parlor token create needs --api-key KEY and --session-id ID (and --expire-in a whole number of seconds)\n',
    );
    return 2;
  }
  return withProject(config, 'token create', apiKey, io, async (store) => {
    const project = await new ProjectService(store).find(apiKey);
    const session = await store.sessions.find(sessionId);
    if (!project || session?.apiKey !== apiKey) {
      io.err(`parlor token create: no session ${sessionId} in project ${apiKey}\n`);
      throw new CliExit(2);
    }
    const role = flags.role;
    const data = flags.data;
    try {
      const token = new OpenTok(project.apiKey, project.apiSecret).generateToken(sessionId, {
        ...(typeof role === 'string' ? { role: role as 'publisher' } : {}),
        ...(typeof data === 'string' && data !== '' ? { data } : {}),
        ...(seconds === null ? {} : { expireTime: Math.floor(Date.now() / 1000) + seconds }),
      });
      io.out(`${token}\n`);
    } catch (error) {
      if (!(error instanceof ArgumentError)) throw error;
      io.err(`parlor token create: ${error.message}\n`);
      throw new CliExit(2);
    }
  });
}

async function createApplication(
  config: Config,
  flags: Record<string, string | boolean | undefined>,
  io: CliIo,
): Promise<number> {
  const name = flags.name;
  const keyOut = flags['private-key-out'];
  const publicKeyFile = flags['public-key'];
  if (typeof name !== 'string' || name.trim() === '') {
    io.err('parlor application create needs --name NAME\n');
    return 2;
  }
  if (typeof keyOut === 'string' && typeof publicKeyFile === 'string') {
    io.err(
      '--private-key-out and --public-key exclude each other: a registered key has no private key here\n',
    );
    return 2;
  }
  let publicKey: string | undefined;
  try {
    publicKey = typeof publicKeyFile === 'string' ? readFileSync(publicKeyFile, 'utf8') : undefined;
    // Refuse before creating anything: the private key must never be lost or overwritten.
    if (typeof keyOut === 'string' && existsSync(keyOut)) throw new Error(`${keyOut} already exists`);
  } catch (error) {
    io.err(`parlor application create: ${(error as Error).message}\n`);
    return 2;
  }
  try {
    return await withStore(config, (store) =>
      store.transaction(async (tx) => {
        const { application, privateKey } = await new ApplicationService(tx).create(name, publicKey);
        if (privateKey !== null && typeof keyOut === 'string') {
          writeFileSync(keyOut, privateKey, { mode: 0o600, flag: 'wx' });
        }
        io.out(`Created application "${application.name}"\n  Application ID  ${application.applicationId}\n`);
        if (privateKey === null) io.out('  Public key      registered\n');
        else if (typeof keyOut === 'string') io.out(`  Private key     written to ${keyOut}\n`);
        else io.out(`\nIts private key, shown only this once:\n\n${privateKey}`);
      }),
    );
  } catch (error) {
    // An unusable public key, or a key file that could not be written: nothing was stored.
    const fileError = error instanceof Error && 'syscall' in error;
    if (!(error instanceof ParlorError) && !fileError) throw error;
    io.err(`parlor application create: ${(error as Error).message}\n`);
    return 2;
  }
}

function formatSessions(sessions: readonly SessionSummary[]): string {
  if (sessions.length === 0) return 'No sessions yet.\n';
  return formatTable(
    ['SESSION ID', 'MEDIA', 'ARCHIVE', 'CONNECTIONS', 'STREAMS', 'CREATED'],
    sessions.map((s) => [
      s.sessionId,
      s.mediaMode,
      s.archiveMode,
      String(s.live?.connections ?? 0),
      String(s.live?.streams ?? 0),
      new Date(s.createdAt).toISOString(),
    ]),
  );
}

function formatArchives(archives: readonly ArchiveRecord[]): string {
  if (archives.length === 0) return 'No archives yet.\n';
  return formatTable(
    ['ARCHIVE ID', 'STATUS', 'SECONDS', 'BYTES', 'CREATED', 'SESSION ID', 'NAME'],
    archives.map((a) => [
      a.archiveId,
      a.status,
      String(Math.round(a.durationMs / 1000)),
      String(a.size),
      new Date(a.createdAt).toISOString(),
      a.sessionId,
      a.name ?? '',
    ]),
  );
}

function formatOperatorTokens(tokens: readonly OperatorTokenInfo[]): string {
  if (tokens.length === 0) return 'No API tokens.\n';
  return formatTable(
    ['TOKEN ID', 'OPERATOR', 'CREATED', 'LAST USED', 'LABEL'],
    tokens.map((t) => [
      t.tokenId,
      t.name,
      new Date(t.createdAt).toISOString(),
      t.lastUsedAt === null ? 'never' : new Date(t.lastUsedAt).toISOString(),
      t.label,
    ]),
  );
}

function formatDeliveries(deliveries: readonly DeliveryOutcome[]): string {
  if (deliveries.length === 0) return 'No callbacks sent yet.\n';
  return formatTable(
    ['TIME', 'EVENT', 'STATE', 'RESULT', 'ATTEMPTS', 'URL'],
    deliveries.map((d) => [
      new Date(d.updatedAt).toISOString(),
      d.event,
      d.state,
      d.result,
      String(d.attempts),
      d.url,
    ]),
  );
}

function formatApplications(applications: readonly Application[]): string {
  if (applications.length === 0)
    return 'No applications yet: `parlor application create --name NAME` adds one.\n';
  return formatTable(
    ['APPLICATION ID', 'NAME'],
    applications.map((a) => [a.applicationId, a.name]),
  );
}

function formatProjects(projects: readonly Project[]): string {
  if (projects.length === 0) return 'No projects yet: `parlor start` creates the default one.\n';
  return formatTable(
    ['API KEY', 'API SECRET', 'DEFAULT', 'SUSPENDED', 'NAME'],
    projects.map((p) => [p.apiKey, p.apiSecret, p.isDefault ? 'yes' : '', p.suspended ? 'yes' : '', p.name]),
  );
}

function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
