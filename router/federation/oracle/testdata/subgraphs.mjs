// Three small Federation v2 subgraphs of a space agency, the "testgraph":
//
//   fleet      spacecraft (two keys: id and registry), rovers, astronauts
//   missions   missions, launches (a nested composite key), ground stations,
//              a timeline union and the planBurn mutation
//   telemetry  readings (an interface), fuel and thrust figures computed with
//              @requires, launch weather
//
// Their data is in memory and fixed, so every answer is deterministic; no
// resolver changes any state.
//
//   node subgraphs.mjs                 serve all three on 127.0.0.1, ports picked
//                                      by the kernel; prints "SUBGRAPH NAME URL"
//                                      for each, then "READY"; SIGTERM stops them
//
// Their schemas are testgraph/fleet.graphql, missions.graphql and
// telemetry.graphql.
import './keepalive.mjs';
import { readFileSync } from 'node:fs';
import { GraphQLError, parse } from 'graphql';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { serveSubgraph, stopOnSignals } from './serving.mjs';

// ---------------------------------------------------------------------------
// Schemas. Each subgraph links a different federation version on purpose.

// The SDL of each subgraph lives in testgraph/NAME.graphql: the same files
// the Go tests compose and compare against Apollo's composition.
const sdlOf = (name) => readFileSync(new URL(`testgraph/${name}.graphql`, import.meta.url), 'utf8');

// ---------------------------------------------------------------------------
// Data.

const spacecraft = [
  { id: 'sc-1', registry: 'HX-101', name: 'Heron', massKg: 12000.5, orbit: 'LEO', specs: { dryMassKg: 9000, fuelCapacityKg: 3000.5, thrustKn: 450 }, crew: ['ast-1', 'ast-2'], insurer: 'Orbital Mutual', internalNotes: 'hull patch 7' },
  { id: 'sc-2', registry: 'HX-202', name: 'Kestrel', massKg: 8500, orbit: 'GEO', specs: { dryMassKg: 6000, fuelCapacityKg: 2500, thrustKn: 300 }, crew: ['ast-3'], insurer: null, internalNotes: null },
  { id: 'sc-3', registry: 'HX-303', name: 'Petrel', massKg: 20500.25, orbit: 'LUNAR', specs: { dryMassKg: 15000, fuelCapacityKg: 5500.25, thrustKn: 900 }, crew: ['ast-4', 'ast-5'], insurer: 'Lloyd Orbital', internalNotes: null },
  { id: 'sc-4', registry: 'HX-404', name: 'Tern', massKg: 3000, orbit: 'HELIO', specs: { dryMassKg: 2000, fuelCapacityKg: 1000, thrustKn: 120 }, crew: [], insurer: null, internalNotes: null },
];
const rovers = [
  { id: 'rv-1', name: 'Dune Crawler', massKg: 900, wheels: 6 },
  { id: 'rv-2', name: 'Pebble', massKg: 150.5, wheels: 4 },
];
// Spacecraft and rovers interleaved, so a list of vehicles mixes the types.
const vehicleOrder = ['sc-1', 'rv-1', 'sc-2', 'rv-2', 'sc-3', 'sc-4'];
const astronauts = [
  { id: 'ast-1', name: 'Ada Okafor', role: 'COMMANDER', callsign: 'Falcon', nationality: 'NG' },
  { id: 'ast-2', name: 'Bruno Lind', role: 'PILOT', callsign: 'Viking', nationality: 'SE' },
  { id: 'ast-3', name: 'Chen Wei', role: 'ENGINEER', callsign: 'Lotus', nationality: null },
  { id: 'ast-4', name: 'Dana Ruiz', role: 'SCIENTIST', callsign: null, nationality: 'MX' },
  { id: 'ast-5', name: 'Emil Novak', role: 'PILOT', callsign: 'Comet', nationality: 'CZ' },
];

const launchSites = { KSC: 'Kennedy Space Center', BAI: 'Baikonur' };
const launches = [
  { site: 'KSC', number: 1, vehicle: 'Atlas-X', scheduledAt: 100, mission: 'm-1' },
  { site: 'BAI', number: 7, vehicle: 'Soyuz-N', scheduledAt: 400, mission: 'm-2' },
  { site: 'BAI', number: 1, vehicle: 'Proton-L', scheduledAt: 50, mission: 'm-3' },
];
const missions = [
  { id: 'm-1', name: 'Aurora', status: 'ACTIVE', orbit: 'LEO', spacecraft: ['sc-1', 'sc-2'], backupCraft: 'sc-4', commander: 'ast-1', crew: ['ast-1', 'ast-2', 'ast-3'], launch: ['KSC', 1], budgetMillions: 120.5, color: [255, 128, 0] },
  { id: 'm-2', name: 'Borealis', status: 'PLANNED', orbit: 'LUNAR', spacecraft: ['sc-3'], backupCraft: null, commander: 'ast-5', crew: ['ast-4', 'ast-5'], launch: ['BAI', 7], budgetMillions: null, color: [0, 64, 255] },
  { id: 'm-3', name: 'Cirrus', status: 'COMPLETE', orbit: 'GEO', spacecraft: ['sc-2', 'sc-4'], backupCraft: 'sc-99', commander: null, crew: [], launch: ['BAI', 1], budgetMillions: 33, color: [16, 200, 16] },
  { id: 'm-4', name: 'Drift', status: 'ACTIVE', orbit: 'HELIO', spacecraft: ['sc-4'], backupCraft: null, commander: 'ast-3', crew: ['ast-3'], launch: null, budgetMillions: 7.25, color: [0, 0, 0] },
];
const dockings = [
  { mission: 'm-1', at: 160, port: 'A', spacecraft: 'sc-2' },
  { mission: 'm-3', at: 90, port: 'B', spacecraft: 'sc-4' },
  { mission: 'm-3', at: 70, port: 'A', spacecraft: 'sc-2' },
];
const stations = [
  { code: 'GS-CAN', name: 'Canberra', country: 'AU' },
  { code: 'GS-MAD', name: 'Madrid', country: 'ES' },
  { code: 'GS-GLD', name: 'Goldstone', country: 'US' },
];

const readings = [
  { id: 'r-1', kind: 'TEMPERATURE', registry: 'HX-101', takenAt: 100, station: 'GS-CAN', celsius: -12.5, sensor: 'hull' },
  { id: 'r-2', kind: 'IMAGE', registry: 'HX-101', takenAt: 150, station: 'GS-MAD', url: 'img://hx-101/150', widthPx: 1024, heightPx: 768, caption: 'Earthrise' },
  { id: 'r-3', kind: 'TEMPERATURE', registry: 'HX-202', takenAt: 200, station: 'GS-GLD', celsius: 21, sensor: 'cabin' },
  { id: 'r-4', kind: 'IMAGE', registry: 'HX-303', takenAt: 250, station: 'GS-CAN', url: 'img://hx-303/250', widthPx: 2048, heightPx: 2048, caption: null },
  { id: 'r-5', kind: 'TEMPERATURE', registry: 'HX-999', takenAt: 300, station: 'GS-MAD', celsius: 3.5, sensor: 'probe' },
  { id: 'r-6', kind: 'IMAGE', registry: 'HX-404', takenAt: 350, station: 'GS-GLD', url: 'img://hx-404/350', widthPx: 640, heightPx: 480, caption: null },
  { id: 'r-7', kind: 'TEMPERATURE', registry: 'HX-101', takenAt: 400, station: 'GS-GLD', celsius: 0.25, sensor: 'hull' },
];
const fuelFraction = { 'HX-101': 0.5, 'HX-202': 0.25, 'HX-303': 1, 'HX-404': 0 };
const lastContact = { 'HX-101': 395, 'HX-202': 210, 'HX-404': 350 };
const weather = { 'KSC/1': { windKph: 12.5, goForLaunch: true }, 'BAI/7': { windKph: 40, goForLaunch: false } };

const byId = (list, id) => list.find((x) => x.id === id) ?? null;
const fail = (message, code) => new GraphQLError(message, code ? { extensions: { code } } : undefined);

// ---------------------------------------------------------------------------
// Resolvers.

const fleetResolvers = {
  Query: {
    spacecraft: (_, { ids }) => (ids ? ids.map((id) => byId(spacecraft, id)).filter(Boolean) : spacecraft),
    craft: (_, { id }) => byId(spacecraft, id),
    craftByRegistry: (_, { registry }) => spacecraft.find((s) => s.registry === registry) ?? null,
    vehicles: (_, { orbit }) =>
      vehicleOrder
        .map((id) => byId(spacecraft, id) ?? byId(rovers, id))
        .filter((v) => !orbit || v.orbit === orbit),
    vehicle: (_, { id }) => byId(spacecraft, id) ?? byId(rovers, id),
    astronauts: (_, { role }) => astronauts.filter((a) => !role || a.role === role),
    astronaut: (_, { id }) => byId(astronauts, id),
    echoAuthorization: (_, __, ctx) => ctx.authorization ?? null,
  },
  Vehicle: {
    __resolveType: (v) => (v.id.startsWith('sc-') ? 'Spacecraft' : 'Rover'),
  },
  Spacecraft: {
    __resolveReference: (ref) =>
      (ref.id !== undefined
        ? byId(spacecraft, ref.id)
        : spacecraft.find((s) => s.registry === ref.registry)) ?? null,
    crew: (s) => s.crew.map((id) => byId(astronauts, id)),
    insurer: (s) => {
      if (s.id === 'sc-2') throw fail('insurer record is sealed', 'FORBIDDEN');
      return s.insurer;
    },
  },
  Astronaut: {
    __resolveReference: (ref) => byId(astronauts, ref.id),
    callsign: (a) => {
      if (a.callsign === null) throw fail(`no callsign issued to ${a.id}`);
      return a.callsign;
    },
  },
};

function missionTimeline(missionId, range) {
  const inRange = (t) => !range || (t >= range.from && t <= range.to);
  const events = [];
  for (const l of launches) {
    if (l.mission === missionId && inRange(l.scheduledAt)) events.push({ at: l.scheduledAt, launch: l });
  }
  for (const d of dockings) {
    if (d.mission === missionId && inRange(d.at)) events.push({ at: d.at, docking: d });
  }
  events.sort((a, b) => a.at - b.at);
  return events.map((e) => (e.launch ? launchObject(e.launch) : { __typename: 'Docking', ...e.docking }));
}

function launchObject(l) {
  return { __typename: 'Launch', ...l, site: { code: l.site, name: launchSites[l.site] } };
}

function findLaunch(code, number) {
  const l = launches.find((x) => x.site === code && x.number === number);
  return l ? launchObject(l) : null;
}

const missionsResolvers = {
  Query: {
    missions: (_, { status, orbit, first }) =>
      missions.filter((m) => (!status || m.status === status) && (!orbit || m.orbit === orbit)).slice(0, Math.max(first, 0)),
    mission: (_, { id }) => byId(missions, id),
    timeline: (_, { missionId, range }) => {
      if (range && range.from > range.to) throw fail('range.from is after range.to', 'BAD_USER_INPUT');
      return missionTimeline(missionId, range);
    },
    stations: () => stations,
  },
  Mutation: {
    planBurn: (_, { input }) => {
      if (!(input.deltaV > 0)) throw fail('deltaV must be positive', 'BAD_USER_INPUT');
      return {
        id: `burn:${input.spacecraftId}:${input.direction}:${input.deltaV}`,
        spacecraft: { id: input.spacecraftId },
        deltaV: input.deltaV,
        direction: input.direction,
        durationSeconds: input.deltaV * 2,
      };
    },
  },
  TimelineEvent: {
    __resolveType: (e) => e.__typename,
  },
  Docking: {
    spacecraft: (d) => ({ id: d.spacecraft }),
  },
  Mission: {
    __resolveReference: (ref) => byId(missions, ref.id),
    spacecraft: (m) => m.spacecraft.map((id) => ({ id })),
    backupCraft: (m) => (m.backupCraft ? { id: m.backupCraft } : null),
    commander: (m) => {
      if (!m.commander) return null;
      // The provided name, from this subgraph's own copy of the roster.
      const a = astronauts.find((x) => x.id === m.commander);
      return { id: a.id, name: a.name };
    },
    crew: (m) => m.crew.map((id) => ({ id })),
    launch: (m) => (m.launch ? findLaunch(m.launch[0], m.launch[1]) : null),
    budgetMillions: (m) => {
      if (m.budgetMillions === null) throw fail(`budget of ${m.id} is classified`);
      return m.budgetMillions;
    },
    patch: (m, { format, scale }) => {
      const c = m.color.map((x) => Math.min(255, x * scale));
      return format === 'RGB'
        ? `rgb(${c.join(',')})`
        : '#' + c.map((x) => x.toString(16).padStart(2, '0')).join('');
    },
  },
  Spacecraft: {
    __resolveReference: (ref) => {
      const s = spacecraft.find((x) => x.id === ref.id);
      return s ? { id: s.id } : null;
    },
    // Shareable with fleet: wherever this subgraph returns a spacecraft the
    // planner may take the name from here, so it must always resolve.
    name: (s) => spacecraft.find((x) => x.id === s.id)?.name ?? null,
    missions: (s) => missions.filter((m) => m.spacecraft.includes(s.id)),
  },
  Astronaut: {
    __resolveReference: (ref) => ({ id: ref.id }),
    missions: (a) => missions.filter((m) => m.crew.includes(a.id)),
  },
  Launch: {
    __resolveReference: (ref) => findLaunch(ref.site.code, ref.number),
    mission: (l) => byId(missions, l.mission),
  },
  GroundStation: {
    __resolveReference: (ref) => stations.find((s) => s.code === ref.code) ?? null,
  },
};

function readingObject(r) {
  return { ...r, __typename: r.kind === 'TEMPERATURE' ? 'TemperatureReading' : 'ImageCapture' };
}

const telemetryResolvers = {
  Query: {
    readings: (_, { registry, range, kinds }) =>
      readings
        .filter((r) => r.registry === registry)
        .filter((r) => !range || (r.takenAt >= range.from && r.takenAt <= range.to))
        .filter((r) => !kinds || kinds.includes(r.kind))
        .map(readingObject),
    latestReadings: (_, { limit }) =>
      [...readings].sort((a, b) => b.takenAt - a.takenAt).slice(0, Math.max(limit, 0)).map(readingObject),
    reading: (_, { id }) => {
      const r = byId(readings, id);
      return r ? readingObject(r) : null;
    },
  },
  Mutation: {
    annotateReading: (_, { id, note }) => {
      const r = byId(readings, id);
      if (!r) throw fail(`no reading ${id}`, 'NOT_FOUND');
      return { note, reading: readingObject(r) };
    },
  },
  Reading: {
    __resolveType: (r) => r.__typename,
  },
  TemperatureReading: {
    spacecraft: (r) => ({ registry: r.registry }),
    station: (r) => ({ code: r.station }),
    kelvin: (r) => {
      if (r.id === 'r-3') throw fail('cabin sensor has no calibration');
      return Math.round((r.celsius + 273.15) * 100) / 100;
    },
  },
  ImageCapture: {
    spacecraft: (r) => ({ registry: r.registry }),
    station: (r) => ({ code: r.station }),
    caption: (r) => {
      if (r.id === 'r-4') throw fail('caption is under review');
      return r.caption;
    },
  },
  Spacecraft: {
    // Only known registries have telemetry, but a reference always resolves:
    // the @requires fields arrive with it.
    __resolveReference: (ref) => ({ ...ref }),
    fuelRemainingKg: (s) => s.specs.fuelCapacityKg * (fuelFraction[s.registry] ?? 0),
    thrustToWeight: (s) => Math.round(((s.specs.thrustKn * 1000) / (s.massKg * 9.81)) * 1000) / 1000,
    lastContact: (s) => {
      if (s.registry === 'HX-303') throw fail('no contact with HX-303 since launch');
      return lastContact[s.registry] ?? null;
    },
    readings: (s, { limit }) =>
      readings.filter((r) => r.registry === s.registry).slice(0, Math.max(limit, 0)).map(readingObject),
  },
  Launch: {
    __resolveReference: (ref) => ({ ...ref }),
    weather: (l) => weather[`${l.site.code}/${l.number}`] ?? null,
  },
};

const subgraphs = [
  { name: 'fleet', sdl: sdlOf('fleet'), resolvers: fleetResolvers },
  { name: 'missions', sdl: sdlOf('missions'), resolvers: missionsResolvers },
  { name: 'telemetry', sdl: sdlOf('telemetry'), resolvers: telemetryResolvers },
];

// ---------------------------------------------------------------------------
// Main.

async function serve() {
  const servers = [];
  for (const sg of subgraphs) {
    const schema = buildSubgraphSchema([{ typeDefs: parse(sg.sdl), resolvers: sg.resolvers }]);
    const { server, url } = await serveSubgraph(schema);
    servers.push(server);
    process.stdout.write(`SUBGRAPH ${sg.name} ${url}\n`);
  }
  process.stdout.write('READY\n');
  stopOnSignals(servers);
}

if (process.argv.length > 2) {
  process.stderr.write('usage: node subgraphs.mjs\n');
  process.exit(2);
}
await serve();
