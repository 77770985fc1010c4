// Many Apollo Gateways in one process: one ApolloServer and ApolloGateway
// per supergraph, each on its own port.
//
//   node gateways.mjs NAME=FILE [NAME=FILE ...]
//   node gateways.mjs --supergraphs DIR      every DIR/NAME.graphql
//
// Each gateway listens on 127.0.0.1 on a port the kernel picks; the program
// prints "LISTENING NAME URL" for each, in argument (or file name) order,
// then "READY". Like gateway.mjs, every gateway forwards the client's
// Authorization header to its subgraphs. SIGTERM or SIGINT stops them all.
import './keepalive.mjs';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serveGateway, stopOnSignals } from './serving.mjs';
import { namedArgs, usageOf } from './cli.mjs';

const usage = usageOf('gateways.mjs', 'node gateways.mjs NAME=FILE ... | --supergraphs DIR');

function parseArgs(argv) {
  if (argv[0] === '--supergraphs') {
    if (argv.length !== 2) usage('--supergraphs takes exactly one folder');
    return readdirSync(argv[1])
      .filter((f) => f.endsWith('.graphql'))
      .sort()
      .map((f) => ({ name: f.slice(0, -'.graphql'.length), file: join(argv[1], f) }));
  }
  if (argv.length === 0) usage('no supergraphs given');
  return namedArgs(argv, 'supergraph', 'FILE', usage).map(({ name, value }) => ({ name, file: value }));
}

const list = parseArgs(process.argv.slice(2));
if (list.length === 0) usage('no supergraph to serve');
const servers = [];
stopOnSignals(servers);
for (const { name, file } of list) {
  const { server, url } = await serveGateway(readFileSync(file, 'utf8'));
  servers.push(server);
  process.stdout.write(`LISTENING ${name} ${url}\n`);
}
process.stdout.write('READY\n');
