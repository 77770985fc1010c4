// What the oracle's Node programs share: an Apollo Server for a subgraph
// schema, an Apollo Gateway for a supergraph, and a clean stop on SIGTERM.
// Every server listens on 127.0.0.1 on a port the kernel picks.
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

// The request context every server here builds: the client's Authorization
// header, which the gateways forward and a subgraph may echo.
const context = async ({ req }) => ({ authorization: req.headers.authorization });

// Serves a subgraph schema (from buildSubgraphSchema). Returns the server
// and its GraphQL URL.
export async function serveSubgraph(schema) {
  const server = new ApolloServer({
    schema,
    csrfPrevention: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 }, context });
  return { server, url };
}

// Forwards the client's Authorization header, nothing else.
class ForwardingDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    if (context && context.authorization) {
      request.http.headers.set('authorization', context.authorization);
    }
  }
}

// Serves Apollo Gateway on a supergraph: an SDL string, or a supergraphSdl
// manager such as IntrospectAndCompose. Returns the server and its URL.
export async function serveGateway(supergraphSdl) {
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
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 }, context });
  return { server, url };
}

// Stops every server on SIGTERM or SIGINT, then exits. A connection that
// never goes idle must not keep the process alive: it exits after 5 s
// regardless.
export function stopOnSignals(servers) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 5000).unref();
    try {
      await Promise.all(servers.map((s) => s.stop()));
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
