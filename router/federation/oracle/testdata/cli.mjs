// What the oracle's Node programs share on their command line.

// Returns the usage error of a program: it prints "PROG: msg" and the usage
// line, and exits with status 2.
export function usageOf(prog, line) {
  return (msg) => {
    process.stderr.write(`${prog}: ${msg}\nusage: ${line}\n`);
    process.exit(2);
  };
}

// Splits NAME=VALUE arguments at their first '=' into {name, value},
// calling usage on one without a name or a value. what names an argument in
// that message ("subgraph"), valueName its value ("URL").
export function namedArgs(argv, what, valueName, usage) {
  return argv.map((arg) => {
    const eq = arg.indexOf('=');
    if (eq <= 0 || eq === arg.length - 1) usage(`bad ${what} "${arg}", want NAME=${valueName}`);
    return { name: arg.slice(0, eq), value: arg.slice(eq + 1) };
  });
}
