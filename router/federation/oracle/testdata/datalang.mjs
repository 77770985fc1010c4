// The data language of testdata/graphs: builds generic resolvers for a
// subgraph schema (for @apollo/subgraph's buildSubgraphSchema) from a JSON
// document of the subgraph's data. README.md states the rules; in short:
//
//   {"Query": {field: VALUE}, "Mutation": {field: VALUE},
//    "entities": {"TypeName": [ROW, ...]}}
//
// A VALUE is JSON returned as it is, except for these objects:
//
//   {"$lookup": "TypeName"}                      rows of TypeName matching the arguments
//   {"$cases": [{"args": {...}, "value": V}], "default": V}
//   {"$error": "message", "code": "CODE"}        a GraphQL error
//   {"$echo": "requires"} / {"$echo": "args"}    what the subgraph received, as canonical JSON
//
// An object that is not a whole row is a reference: it is completed from
// the first row of its type whose fields contain the object's (the
// object's own values win, nested objects are merged).
import { GraphQLError, getNullableType, isAbstractType, isInterfaceType, isListType, isObjectType, parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';

// The representation an entity was resolved from, kept on the object the
// resolver returns without being one of its fields.
const representation = Symbol('representation');

// Types and fields @apollo/subgraph adds, which keep their own resolvers.
const federationTypes = new Set(['_Service', '_Any', '_Entity', '_FieldSet', 'FieldSet']);
const isFederationType = (name) =>
  federationTypes.has(name) || name.startsWith('__') || name.startsWith('link__') || name.startsWith('federation__');

// buildSchema builds a subgraph's executable schema: generic resolvers from
// data, with overrides (a resolver map) merged over them type by type.
export function buildSchema(sdl, data = {}, overrides = {}) {
  const typeDefs = parse(sdl);
  const bare = buildSubgraphSchema([{ typeDefs }]);
  const resolvers = genericResolvers(typeDefs, bare, checkData(data));
  for (const [type, fields] of Object.entries(overrides)) {
    resolvers[type] = { ...resolvers[type], ...fields };
  }
  return buildSubgraphSchema([{ typeDefs, resolvers }]);
}

function checkData(data) {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new Error('the data must be a JSON object');
  }
  for (const key of Object.keys(data)) {
    if (!['Query', 'Mutation', 'entities'].includes(key)) {
      throw new Error(`unknown top-level key "${key}" in the data (want Query, Mutation, entities)`);
    }
  }
  for (const [type, rows] of Object.entries(data.entities ?? {})) {
    if (!Array.isArray(rows)) throw new Error(`entities.${type} must be a list of rows`);
  }
  return data;
}

// genericResolvers makes the resolver map of the whole subgraph.
function genericResolvers(typeDefs, schema, data) {
  const fed = federationDirectives(typeDefs);
  const ctx = { schema, data, rows: data.entities ?? {}, directives: directivesByType(typeDefs, fed), complete: new WeakSet() };
  for (const rows of Object.values(ctx.rows)) rows.forEach((r) => complete(ctx, r));
  const roots = new Map();
  if (schema.getQueryType()) roots.set(schema.getQueryType().name, 'Query');
  if (schema.getMutationType()) roots.set(schema.getMutationType().name, 'Mutation');
  const resolvers = {};
  for (const type of Object.values(schema.getTypeMap())) {
    if (isFederationType(type.name)) continue;
    if (isAbstractType(type)) {
      resolvers[type.name] = { __resolveType: (value) => value?.__typename };
    }
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    const map = resolvers[type.name] ?? {};
    if (keysOf(ctx, type.name).length > 0) {
      map.__resolveReference = (rep) => resolveReference(ctx, type, rep);
    }
    if (isObjectType(type)) {
      const root = roots.get(type.name);
      for (const field of Object.values(type.getFields())) {
        if (root === 'Query' && (field.name === '_service' || field.name === '_entities')) continue;
        map[field.name] = root ? rootResolver(ctx, root, field.name) : fieldResolver(ctx, type.name, field.name);
      }
    }
    resolvers[type.name] = map;
  }
  return resolvers;
}

// ---------------------------------------------------------------------------
// Field resolution.

function rootResolver(ctx, root, name) {
  return (_source, args, _context, info) => evaluate(ctx, ctx.data[root]?.[name], { args, info, source: null, type: info.returnType });
}

function fieldResolver(ctx, typeName, name) {
  return (source, args, _context, info) => {
    const own = Object.hasOwn(source, name) ? source[name] : undefined;
    const row = ctx.complete.has(source) ? null : referencedRow(ctx, typeName, source);
    const raw = row ? merge(row[name], own) : own;
    return evaluate(ctx, raw, { args, info, source, type: info.returnType });
  };
}

// referencedRow finds the row an object refers to: the first row of its
// type whose fields contain the object's.
function referencedRow(ctx, typeName, partial) {
  return (ctx.rows[typeName] ?? []).find((r) => !r.$any && contains(r, partial)) ?? null;
}

// complete marks an object as a whole row (or a row merged with a
// representation), which no reference lookup completes.
function complete(ctx, obj) {
  ctx.complete.add(obj);
  return obj;
}

// evaluate turns a VALUE into what graphql-js completes at a position of
// type `type`. Errors in list items are returned as Error objects, so that
// only that item fails.
function evaluate(ctx, value, pos) {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) {
    const itemType = getNullableType(pos.type);
    const inner = isListType(itemType) ? itemType.ofType : itemType;
    return value.map((item) => {
      try {
        return evaluate(ctx, item, { ...pos, type: inner });
      } catch (err) {
        return err;
      }
    });
  }
  if (typeof value !== 'object') return value;
  if ('$error' in value) throw fieldError(value);
  if ('$lookup' in value) return lookup(ctx, value.$lookup, pos);
  if ('$cases' in value) return evaluate(ctx, chooseCase(value, pos.args), pos);
  if ('$echo' in value) return echo(ctx, value.$echo, pos);
  return value;
}

function fieldError(value) {
  const code = value.code;
  return new GraphQLError(String(value.$error), code ? { extensions: { code } } : undefined);
}

// lookup answers the rows of a type (every possible type of an abstract
// one) whose fields contain every non-null argument that names a field of
// the type: all of them at a list position, else the first or null.
function lookup(ctx, typeName, pos) {
  const type = ctx.schema.getType(typeName);
  if (!type) throw new Error(`$lookup of unknown type ${typeName}`);
  const concrete = isAbstractType(type) ? ctx.schema.getPossibleTypes(type) : [type];
  const found = [];
  for (const t of concrete) {
    const fields = t.getFields();
    for (const row of ctx.rows[t.name] ?? []) {
      if (row.$any) continue;
      const match = Object.entries(pos.args).every(
        ([arg, v]) => v === null || v === undefined || !fields[arg] || (Object.hasOwn(row, arg) && contains(row[arg], v)),
      );
      if (match) found.push(complete(ctx, { __typename: t.name, ...row }));
    }
  }
  return isListType(getNullableType(pos.type)) ? found : (found[0] ?? null);
}

// chooseCase picks the first case whose args all equal the field's
// arguments (a missing argument equals null), else the default.
function chooseCase(value, args) {
  if (!Array.isArray(value.$cases)) throw new Error('$cases must be a list');
  for (const c of value.$cases) {
    const want = c.args ?? {};
    if (Object.entries(want).every(([k, v]) => deepEqual(args[k] ?? null, v))) return c.value;
  }
  return value.default;
}

// echo answers, as canonical JSON, the field's arguments or the
// representation's values of the fields its @requires names (null when the
// object did not come from a representation).
function echo(ctx, what, pos) {
  if (what === 'args') return canonicalJSON(pos.args);
  if (what !== 'requires') throw new Error(`unknown $echo "${what}" (want "requires" or "args")`);
  const rep = pos.source?.[representation];
  if (!rep) return null;
  const parent = pos.info.parentType.name;
  const set = ctx.directives.get(parent)?.requires.get(pos.info.fieldName);
  if (!set) throw new Error(`$echo "requires" on ${parent}.${pos.info.fieldName}, which has no @requires`);
  const out = {};
  for (const name of topLevelFields(set)) {
    if (Object.hasOwn(rep, name)) out[name] = rep[name];
  }
  return canonicalJSON(out);
}

// ---------------------------------------------------------------------------
// Entities.

// resolveReference finds the row a representation names by any key of the
// type in this subgraph and answers the row deep-merged with the
// representation (whose values win). An entity interface searches the rows
// of its implementations. A matching row with "$error" fails the entity.
function resolveReference(ctx, type, rep) {
  const keys = keysOf(ctx, type.name);
  const candidates = isInterfaceType(type) ? ctx.schema.getPossibleTypes(type).map((t) => t.name) : [type.name];
  for (const name of candidates) {
    for (const row of ctx.rows[name] ?? []) {
      if (!row.$any && !keys.some((k) => sameKey(k, row, rep))) continue;
      // A rejected promise fails this representation only (its item of
      // _entities), where a throw would fail the whole _entities field.
      if ('$error' in row) return Promise.reject(fieldError(row));
      const { $any, ...fields } = row;
      const out = { ...merge(fields, rep), __typename: name };
      Object.defineProperty(out, representation, { value: rep });
      return complete(ctx, out);
    }
  }
  return null;
}

// sameKey reports whether the representation has every field of the key
// and the row the same values for them.
function sameKey(key, row, rep) {
  const a = project(rep, key);
  const b = project(row, key);
  return a !== undefined && b !== undefined && deepEqual(a, b);
}

// project selects a field set's fields of a value; undefined when one is
// missing. Inline fragments apply when their type condition is the
// value's __typename.
function project(value, selections) {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) {
    const items = value.map((v) => project(v, selections));
    return items.includes(undefined) ? undefined : items;
  }
  if (typeof value !== 'object') return undefined;
  const out = {};
  for (const sel of selections) {
    if (sel.kind === 'InlineFragment') {
      const cond = sel.typeCondition?.name.value;
      if (cond && cond !== value.__typename) continue;
      const sub = project(value, sel.selectionSet.selections);
      if (sub === undefined) return undefined;
      Object.assign(out, sub);
      continue;
    }
    const name = sel.name.value;
    if (!Object.hasOwn(value, name)) return undefined;
    const sub = sel.selectionSet ? project(value[name], sel.selectionSet.selections) : value[name];
    if (sub === undefined) return undefined;
    out[name] = sub;
  }
  return out;
}

function topLevelFields(selections) {
  const out = [];
  for (const sel of selections) {
    if (sel.kind === 'InlineFragment') out.push(...topLevelFields(sel.selectionSet.selections));
    else if (!out.includes(sel.name.value)) out.push(sel.name.value);
  }
  return out;
}

function keysOf(ctx, typeName) {
  return ctx.directives.get(typeName)?.keys ?? [];
}

// ---------------------------------------------------------------------------
// Reading the federation directives of the SDL.

// federationDirectives maps the directive names the SDL uses to federation
// directive names: imported ones (renamed by `as` or not) and
// federation__name (or PREFIX__name for a link with `as: "PREFIX"`).
function federationDirectives(doc) {
  const names = new Map();
  let prefix = 'federation';
  for (const def of doc.definitions) {
    if (def.kind !== 'SchemaDefinition' && def.kind !== 'SchemaExtension') continue;
    for (const d of def.directives ?? []) {
      if (d.name.value !== 'link') continue;
      const arg = (n) => d.arguments.find((a) => a.name.value === n)?.value;
      const url = arg('url');
      if (!url || !String(url.value).includes('specs.apollo.dev/federation/')) continue;
      if (arg('as')) prefix = arg('as').value;
      for (const item of arg('import')?.values ?? []) {
        if (item.kind === 'StringValue') {
          names.set(item.value.replace(/^@/, ''), item.value.replace(/^@/, ''));
        } else if (item.kind === 'ObjectValue') {
          const field = (n) => item.fields.find((f) => f.name.value === n)?.value.value;
          names.set((field('as') ?? field('name')).replace(/^@/, ''), field('name').replace(/^@/, ''));
        }
      }
    }
  }
  return (used) => names.get(used) ?? (used.startsWith(prefix + '__') ? used.slice(prefix.length + 2) : null);
}

// directivesByType reads each type's @key field sets and each field's
// @requires field set, over all of a type's definitions and extensions.
function directivesByType(doc, fed) {
  const out = new Map();
  const fieldSet = (d) => {
    const fields = d.arguments.find((a) => a.name.value === 'fields')?.value.value;
    return parse(`{${fields}}`).definitions[0].selectionSet.selections;
  };
  for (const def of doc.definitions) {
    if (!/^(Object|Interface)Type(Definition|Extension)$/.test(def.kind)) continue;
    const entry = out.get(def.name.value) ?? { keys: [], requires: new Map() };
    out.set(def.name.value, entry);
    for (const d of def.directives ?? []) {
      if (fed(d.name.value) === 'key') entry.keys.push(fieldSet(d));
    }
    for (const f of def.fields ?? []) {
      for (const d of f.directives ?? []) {
        if (fed(d.name.value) === 'requires') entry.requires.set(f.name.value, fieldSet(d));
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// JSON values.

// contains reports whether value has everything pattern has: objects every
// field of the pattern (but __typename), lists the same length item by
// item, other values equality.
function contains(value, pattern) {
  if (Array.isArray(pattern)) {
    return Array.isArray(value) && value.length === pattern.length && pattern.every((p, i) => contains(value[i], p));
  }
  if (pattern !== null && typeof pattern === 'object') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
    return Object.entries(pattern).every(([k, p]) => k === '__typename' || (Object.hasOwn(value, k) && contains(value[k], p)));
  }
  return value === pattern;
}

// merge deep-merges two JSON values: objects field by field, anything else
// from over unless over is undefined.
function merge(under, over) {
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (over === undefined) return under;
  if (!isObject(under) || !isObject(over)) return over;
  const out = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = Object.hasOwn(under, k) ? merge(under[k], v) : v;
  return out;
}

function deepEqual(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return a === b;
}

// canonicalJSON prints a value with object keys sorted, recursively.
export function canonicalJSON(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(value));
}
