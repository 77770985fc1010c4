// The graphs of testdata/graphs: small federated graphs, each a folder of
// subgraph SDLs and their data (see README.md for the format).
//
//   node graphs.mjs [--dir DIR] serve [GRAPH ...]
//       serves every subgraph of the named graphs (default: all) in this one
//       process, on 127.0.0.1 at ports the kernel picks; prints
//       "SUBGRAPH GRAPH SUBGRAPH URL" for each, then "READY". SIGTERM or
//       SIGINT stops it.
//   node graphs.mjs [--dir DIR] compose [GRAPH ...]
//       composes each graph with @apollo/composition (routing URLs
//       http://SUBGRAPH.invalid/graphql) and prints one JSON object,
//       {"GRAPH": {"supergraph": SDL} or {"errors": ["CODE: message", ...]}}.
//
// DIR defaults to the graphs folder next to this file. A graph that cannot
// be loaded (an SDL that does not parse, a data file that is not JSON)
// prints "GRAPH/SUBGRAPH: message" on standard error and exits 1.
import './keepalive.mjs';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { buildSchema } from './datalang.mjs';
import { serveSubgraph, stopOnSignals } from './serving.mjs';
import { usageOf } from './cli.mjs';

const usage = usageOf('graphs.mjs', 'node graphs.mjs [--dir DIR] serve|compose [GRAPH ...]');

function fail(msg) {
  process.stderr.write(`${msg}\n`);
  process.exit(1);
}

// graphNames lists the graphs of dir: its folders, in name order.
function graphNames(dir) {
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && statSync(join(dir, name)).isDirectory())
    .sort();
}

// loadGraph reads a graph folder: its subgraphs (every *.graphql but
// supergraph.graphql, in name order), their data and resolvers.mjs.
async function loadGraph(dir, name) {
  const folder = join(dir, name);
  const subgraphs = readdirSync(folder)
    .filter((f) => f.endsWith('.graphql') && f !== 'supergraph.graphql')
    .sort()
    .map((f) => {
      const sub = f.slice(0, -'.graphql'.length);
      const dataFile = join(folder, `${sub}.json`);
      let data = {};
      if (existsSync(dataFile)) {
        try {
          data = JSON.parse(readFileSync(dataFile, 'utf8'));
        } catch (err) {
          fail(`${name}/${sub}: ${sub}.json: ${err.message}`);
        }
      }
      return { name: sub, sdl: readFileSync(join(folder, f), 'utf8'), data };
    });
  if (subgraphs.length === 0) fail(`${name}: no subgraph (*.graphql) in ${folder}`);
  let overrides = {};
  const custom = join(folder, 'resolvers.mjs');
  if (existsSync(custom)) {
    overrides = (await import(pathToFileURL(custom).href)).default ?? {};
  }
  return { name, subgraphs, overrides };
}

async function serve(graphs) {
  const servers = [];
  for (const g of graphs) {
    for (const sg of g.subgraphs) {
      let schema;
      try {
        schema = buildSchema(sg.sdl, sg.data, g.overrides[sg.name]);
      } catch (err) {
        fail(`${g.name}/${sg.name}: ${err.message}`);
      }
      const { server, url } = await serveSubgraph(schema);
      servers.push(server);
      process.stdout.write(`SUBGRAPH ${g.name} ${sg.name} ${url}\n`);
    }
  }
  process.stdout.write('READY\n');
  stopOnSignals(servers);
}

function compose(graphs) {
  const out = {};
  for (const g of graphs) {
    const services = [];
    const errors = [];
    for (const sg of g.subgraphs) {
      try {
        services.push({ name: sg.name, url: `http://${sg.name}.invalid/graphql`, typeDefs: parse(sg.sdl) });
      } catch (err) {
        errors.push(`GRAPHQL_PARSE_FAILED: ${sg.name}: ${err.message.replace(/\n/g, ' ')}`);
      }
    }
    if (errors.length > 0) {
      out[g.name] = { errors };
      continue;
    }
    const result = composeServices(services);
    if (result.errors && result.errors.length > 0) {
      out[g.name] = {
        errors: result.errors.map((e) => `${e.extensions?.code ?? 'COMPOSITION_ERROR'}: ${e.message.replace(/\n/g, ' ')}`),
      };
      continue;
    }
    const sdl = result.supergraphSdl;
    out[g.name] = { supergraph: sdl.endsWith('\n') ? sdl : sdl + '\n' };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

let argv = process.argv.slice(2);
let dir = new URL('graphs', import.meta.url).pathname;
if (argv[0] === '--dir') {
  if (argv.length < 2) usage('--dir takes a folder');
  dir = resolve(argv[1]);
  argv = argv.slice(2);
}
const [command, ...names] = argv;
if (command !== 'serve' && command !== 'compose') usage(`unknown command "${command ?? ''}"`);
const known = graphNames(dir);
for (const n of names) {
  if (!known.includes(n)) usage(`no graph "${n}" in ${dir}`);
}
const graphs = [];
for (const n of names.length > 0 ? names : known) graphs.push(await loadGraph(dir, n));
if (command === 'serve') await serve(graphs);
else compose(graphs);
