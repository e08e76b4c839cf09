// `npm run cluster`: a throwaway cluster on this machine (its own Redis and PostgreSQL on free
// loopback ports, then Parlor nodes), stopped and deleted on Ctrl-C. See docs/cluster.md.
//   npm run cluster -- [--nodes 3] [--regions us,eu] [--port 3001] [-- more flags for every node]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, ensureDebianPackages, ensureDependencies, root } from './setup.mjs';

const usage =
  'npm run cluster -- [--nodes N] [--regions us,eu] [--port FIRST_PORT] [-- flags for every node]';
let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--run'),
    options: { nodes: { type: 'string' }, regions: { type: 'string' }, port: { type: 'string' } },
    allowPositionals: true,
  });
} catch (error) {
  console.error(`${error.message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = parsed;

if (process.argv.includes('--run')) await run();
else supervise();

/**
 * Prepares, then runs the cluster in a process group of its own: Ctrl-C in the terminal reaches
 * only this process, which asks the cluster to stop in order (nodes first, then Redis and
 * PostgreSQL). A second Ctrl-C kills the whole group at once.
 */
function supervise() {
  ensureDependencies();
  ensureDebianPackages({ '/usr/bin/redis-server': 'redis-server', '/usr/bin/pg_ctlcluster': 'postgresql' });
  build();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    detached: true,
  });
  let signals = 0;
  const stop = () => {
    signals += 1;
    if (signals === 1) child.kill('SIGTERM');
    else process.kill(-child.pid, 'SIGKILL');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.once('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  });
}

async function run() {
  const { startLocalCluster } = await import(
    pathToFileURL(join(root, 'packages/server/dist/cluster/LocalCluster.js')).href
  );
  const number = (raw, fallback) => (raw === undefined ? fallback : Number(raw));
  console.log('Starting Redis, PostgreSQL and the nodes…');
  let cluster;
  try {
    cluster = await startLocalCluster({
      nodes: number(values.nodes, 3),
      regions: values.regions?.split(',').filter(Boolean),
      port: number(values.port, 3001),
      args: positionals,
      log: (line) => console.log(line),
    });
  } catch (error) {
    console.error(`The cluster did not start: ${error.message}`);
    process.exit(1);
  }
  const stop = () => {
    console.log('Stopping the cluster…');
    void cluster.close().then(() => {
      console.log('Stopped; its files are deleted.');
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const width = Math.max(...cluster.nodes.map((node) => node.nodeId.length));
  console.log(`
Parlor cluster of ${cluster.nodes.length} nodes is running.

${cluster.nodes.map((node) => `  ${node.nodeId.padEnd(width)}  ${node.url}/   (region ${node.region})`).join('\n')}

  API key         ${cluster.project.apiKey}
  API secret      ${cluster.project.apiSecret}
  Cluster secret  ${cluster.clusterSecret}   (GET /v2/cluster/nodes with Authorization: Bearer …)
  Redis           ${cluster.redisUrl}
  PostgreSQL      ${cluster.databaseUrl}
  Data            ${cluster.dir}

Open the demo on any node. Everything is deleted when it stops. Press Ctrl+C to stop.
`);
}
