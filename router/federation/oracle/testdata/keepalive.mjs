// Node closes an idle keep-alive connection after 5 s (the http.Server
// default keepAliveTimeout). A client that reuses the connection at that
// instant gets "socket hang up": Apollo Gateway did, talking to the test
// subgraphs on a loaded machine, and failed an oracle case. The servers
// here come from startStandaloneServer, which gives no handle on its
// http.Server, so importing this module makes every http.Server created
// afterwards keep idle connections for 65 s, longer than any client here
// keeps one.
import http from 'node:http';

const createServer = http.createServer;
http.createServer = (...args) => {
  const server = createServer(...args);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
};
