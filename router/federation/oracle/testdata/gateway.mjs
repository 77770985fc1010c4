// Apollo Gateway as the reference implementation for the Go router's
// differential tests.
//
//   node gateway.mjs NAME=URL [NAME=URL ...]   compose the subgraphs by introspection
//   node gateway.mjs --supergraph FILE         serve a composed supergraph SDL
//
// Listens on 127.0.0.1 on a port the kernel picks and prints one line,
// "LISTENING http://127.0.0.1:PORT/", once it serves. The Authorization
// header of each request is forwarded to every subgraph fetch. SIGTERM or
// SIGINT stops it.
import './keepalive.mjs';
import { readFileSync } from 'node:fs';
import { IntrospectAndCompose } from '@apollo/gateway';
import { serveGateway, stopOnSignals } from './serving.mjs';
import { namedArgs, usageOf } from './cli.mjs';

const usage = usageOf('gateway.mjs', 'node gateway.mjs NAME=URL ... | --supergraph FILE');

function parseArgs(argv) {
  if (argv[0] === '--supergraph') {
    if (argv.length !== 2) usage('--supergraph takes exactly one file');
    return { supergraphSdl: readFileSync(argv[1], 'utf8') };
  }
  if (argv.length === 0) usage('no subgraphs given');
  const subgraphs = namedArgs(argv, 'subgraph', 'URL', usage).map(({ name, value }) => ({ name, url: value }));
  return { supergraphSdl: new IntrospectAndCompose({ subgraphs }) };
}

const { supergraphSdl } = parseArgs(process.argv.slice(2));
const { server, url } = await serveGateway(supergraphSdl);
process.stdout.write(`LISTENING ${url}\n`);
stopOnSignals([server]);
