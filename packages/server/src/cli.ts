import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, configFlags, describeSettings, loadConfig, type Config } from './config/config.js';
import { createLogger } from './logger.js';
import { ParlorServer, storeFileName } from './ParlorServer.js';
import { ProjectService } from './projects/ProjectService.js';
import type { Project } from './store/ProjectRepository.js';
import { Store } from './store/Store.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const usage = `Parlor ${version}: a self-hosted video platform with the OpenTok API

Usage:
  parlor start [options]                 run the server
  parlor project create --name NAME      add a project and print its credentials
  parlor project list                    list the projects and their credentials

Options (each also read from its environment variable):
${describeSettings()}`;

/** Output streams, replaceable for tests. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

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
  const { command, flags } = parsed;
  if (command === 'help' || flags.help) {
    io.out(`${usage}\n`);
    return 0;
  }

  let config: Config;
  try {
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
      return withProjects(config, (projects) => {
        const project = projects.create(flags.name as string);
        io.out(
          `Created project "${project.name}"\n  API key     ${project.apiKey}\n  API secret  ${project.apiSecret}\n`,
        );
      });
    case 'project list':
      return withProjects(config, (projects) => {
        io.out(formatProjects(projects.list()));
      });
  }
}

const commands = ['start', 'help', 'project create', 'project list'] as const;
type Command = (typeof commands)[number];

function parseCommandLine(argv: readonly string[]): {
  command: Command;
  flags: Record<string, string | boolean | undefined>;
} {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { ...configFlags, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  const command = positionals.join(' ') || 'start';
  if (!(commands as readonly string[]).includes(command)) throw new Error(`Unknown command: ${command}`);
  return { command: command as Command, flags: values };
}

async function runServer(config: Config, io: CliIo): Promise<number> {
  const logger = createLogger(config.logLevel);
  let server: ParlorServer;
  try {
    server = await ParlorServer.start(config, logger);
  } catch (error) {
    io.err(`Parlor could not start: ${(error as Error).message}\n`);
    return 1;
  }
  io.out(banner(server, config));

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A second signal while draining exits at once.
  const forceExit = (): never => process.exit(1);
  process.once('SIGINT', forceExit);
  process.once('SIGTERM', forceExit);
  io.out(`\n${signal}: stopping Parlor…\n`);
  await server.close();
  process.off('SIGINT', forceExit);
  process.off('SIGTERM', forceExit);
  io.out('Parlor stopped.\n');
  return 0;
}

function banner(server: ParlorServer, config: Config): string {
  const { apiKey, apiSecret } = server.defaultProject;
  const url = server.publicUrl;
  return `
Parlor ${version} is running.

  Public URL   ${url}
  Listening    ${server.listenUrl}
  REST API     ${url}   (the apiUrl of an OpenTok server SDK)
  Health       ${url}/health

  Default project
  API key      ${apiKey}
  API secret   ${apiSecret}

  Data         ${join(config.dataDir, storeFileName)}

Press Ctrl+C to stop.
`;
}

function withProjects(config: Config, run: (projects: ProjectService) => void): number {
  const store = Store.open(join(config.dataDir, storeFileName));
  try {
    run(new ProjectService(store));
    return 0;
  } finally {
    store.close();
  }
}

function formatProjects(projects: readonly Project[]): string {
  if (projects.length === 0) return 'No projects yet: `parlor start` creates the default one.\n';
  const rows = projects.map((p) => [p.apiKey, p.apiSecret, p.isDefault ? 'yes' : '', p.name]);
  const header = ['API KEY', 'API SECRET', 'DEFAULT', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
