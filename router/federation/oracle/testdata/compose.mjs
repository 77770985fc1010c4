// Composes subgraph SDLs into a supergraph SDL with @apollo/composition,
// the composition Apollo Gateway and Apollo Router's tooling use.
//
//   node compose.mjs NAME=URL=FILE [NAME=URL=FILE ...]
//   node compose.mjs -        reads a JSON array of {name, url, sdl} (or
//                             {name, url, file}) from standard input
//
// Prints the supergraph SDL on standard output. When composition fails it
// prints one error a line on standard error ("CODE: message") and exits 1.
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { composeServices } from '@apollo/composition';
import { usageOf } from './cli.mjs';

const usage = usageOf('compose.mjs', 'node compose.mjs NAME=URL=FILE ... | -');

function fromArg(arg) {
  // The URL may itself hold '=': the name ends at the first '=', the file
  // starts after the last one.
  const first = arg.indexOf('=');
  const last = arg.lastIndexOf('=');
  if (first <= 0 || last === first || last === arg.length - 1) {
    usage(`bad subgraph "${arg}", want NAME=URL=FILE`);
  }
  return { name: arg.slice(0, first), url: arg.slice(first + 1, last), file: arg.slice(last + 1) };
}

function readInput(argv) {
  if (argv.length === 1 && argv[0] === '-') {
    const list = JSON.parse(readFileSync(0, 'utf8'));
    if (!Array.isArray(list)) usage('standard input must hold a JSON array');
    return list;
  }
  if (argv.length === 0) usage('no subgraphs given');
  return argv.map(fromArg);
}

const services = readInput(process.argv.slice(2)).map((s) => {
  const sdl = s.sdl ?? readFileSync(s.file, 'utf8');
  let typeDefs;
  try {
    typeDefs = parse(sdl);
  } catch (err) {
    process.stderr.write(`${s.name}: ${err.message}\n`);
    process.exit(1);
  }
  return { name: s.name, url: s.url, typeDefs };
});

const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const err of result.errors) {
    const code = err.extensions?.code ?? 'COMPOSITION_ERROR';
    process.stderr.write(`${code}: ${err.message.replace(/\n/g, ' ')}\n`);
  }
  process.exit(1);
}
process.stdout.write(result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : result.supergraphSdl + '\n');
