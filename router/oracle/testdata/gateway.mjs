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
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';

function usage(msg) {
  process.stderr.write(`gateway.mjs: ${msg}\nusage: node gateway.mjs NAME=URL ... | --supergraph FILE\n`);
  process.exit(2);
}

function parseArgs(argv) {
  if (argv[0] === '--supergraph') {
    if (argv.length !== 2) usage('--supergraph takes exactly one file');
    return { supergraphSdl: readFileSync(argv[1], 'utf8') };
  }
  if (argv.length === 0) usage('no subgraphs given');
  const subgraphs = argv.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0 || eq === arg.length - 1) usage(`bad subgraph "${arg}", want NAME=URL`);
    return { name: arg.slice(0, eq), url: arg.slice(eq + 1) };
  });
  return { supergraphSdl: new IntrospectAndCompose({ subgraphs }) };
}

// Forwards the client's Authorization header, nothing else.
class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context && context.authorization) {
      request.http.headers.set('authorization', context.authorization);
    }
  }
}

const { supergraphSdl } = parseArgs(process.argv.slice(2));
const gateway = new ApolloGateway({
  supergraphSdl,
  buildService: ({ url }) => new ForwardingDataSource({ url }),
});

const server = new ApolloServer({
  gateway,
  // Plain `POST application/json` must work from any client, and a browser
  // landing page has no place in a test oracle.
  csrfPrevention: false,
  plugins: [ApolloServerPluginLandingPageDisabled()],
  // Stack traces in extensions are noise for a comparison.
  includeStacktraceInErrorResponses: false,
  introspection: true,
  stopOnTerminationSignals: false,
});

const { url } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: 0 },
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});
process.stdout.write(`LISTENING ${url}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  // A connection that never goes idle must not keep the process alive.
  setTimeout(() => process.exit(0), 5000).unref();
  try {
    await server.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
