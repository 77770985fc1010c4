// Drives the router's GraphQL IDE in Debian's chromium with playwright-core,
// as a person would: it opens /graphql, types a query into GraphiQL's editor
// and runs it, sets the admin token in the headers editor and runs a
// mutation, then opens a REST route. It takes screenshots on the way and
// records every request the browser makes; any request to a host other
// than the router's is aborted and reported.
//
// It decides nothing: it prints one JSON report on stdout (what the editors
// and the result pane held, the requests, the screenshots, the console's
// errors) and the Go test checks it. It exits 1 when a step could not be
// done, still printing the report so far.
//
// Usage: node ide.mjs CONFIG.json, where the config has
//   modules      the directory holding node_modules (npm ci of this folder)
//   chromium     the browser's executable
//   userDataDir  a fresh, empty profile directory
//   baseURL      the router, e.g. http://localhost:40123
//   outDir       where the screenshots go
//   headers      the text to type into the headers editor (the admin token)
//   query        the federated query to type
//   mutation     the admin mutation to type
//   restPath     a REST route to open, e.g. /books?first=3
//   probeURL     a URL off the router, to show that the guard aborts it
//
// Nothing here downloads a browser: playwright-core never does, and the
// executable is given.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// stepTimeout bounds each wait; a safety net against a hung page, not an
// assertion.
const stepTimeout = 30_000;

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { chromium } = createRequire(join(config.modules, 'node_modules', 'noop.js'))('playwright-core');

const report = {
  requests: [], // every request the browser made: {method, url, resourceType}
  blocked: [], // requests aborted for leaving the router's origin
  consoleErrors: [],
  pageErrors: [],
  screenshots: [],
  steps: {},
  error: null,
};

const base = new URL(config.baseURL);

// allowed reports whether a request stays on the router's origin, or needs
// no network at all.
function allowed(url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') {
    return true;
  }
  return (u.protocol === 'http:' || u.protocol === 'https:') &&
    (u.hostname === 'localhost' || u.hostname === '127.0.0.1') && u.port === base.port;
}

// editorValue reads a CodeMirror 5 editor's whole text through its API (the
// DOM shows only the lines in view).
async function editorValue(page, selector) {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    return el && el.CodeMirror ? el.CodeMirror.getValue() : null;
  }, selector);
}

// typeInto replaces an editor's text the way a user pastes: focus it, select
// everything, insert the text. insertText sends one input event, so
// CodeMirror's auto-closing of brackets (which acts on key presses) does not
// double them. It returns what the editor then holds.
async function typeInto(page, selector, text) {
  await page.click(selector + ' .CodeMirror-lines', { timeout: stepTimeout });
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  return editorValue(page, selector + ' .CodeMirror');
}

const responseEditor = '.graphiql-response .CodeMirror';

// run clicks GraphiQL's run button and waits until the result pane holds a
// new JSON document, which it returns as text.
async function run(page) {
  const before = await editorValue(page, responseEditor);
  await page.click('.graphiql-execute-button', { timeout: stepTimeout });
  await page.waitForFunction(([sel, prev]) => {
    const el = document.querySelector(sel);
    const v = el && el.CodeMirror ? el.CodeMirror.getValue() : '';
    if (v === prev || v.trim() === '') {
      return false;
    }
    try {
      JSON.parse(v);
      return true;
    } catch {
      return false;
    }
  }, [responseEditor, before], { timeout: stepTimeout });
  return editorValue(page, responseEditor);
}

async function screenshot(page, name) {
  const path = join(config.outDir, name);
  await page.screenshot({ path });
  report.screenshots.push(path);
}

let context;
try {
  context = await chromium.launchPersistentContext(config.userDataDir, {
    executablePath: config.chromium,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
    timeout: stepTimeout,
  });
  context.setDefaultTimeout(stepTimeout);
  context.on('request', (req) => {
    report.requests.push({ method: req.method(), url: req.url(), resourceType: req.resourceType() });
  });
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url)) {
      return route.continue();
    }
    report.blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      report.consoleErrors.push(msg.text());
    }
  });
  page.on('pageerror', (err) => report.pageErrors.push(String(err)));

  // 1. The IDE loads: GraphiQL's query editor and result pane are there.
  const resp = await page.goto(new URL('/graphql', base).href, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-query-editor .CodeMirror', { state: 'visible' });
  await page.waitForSelector('.graphiql-response', { state: 'visible' });
  report.steps.load = {
    status: resp.status(),
    contentType: resp.headers()['content-type'] || '',
    title: await page.title(),
    defaultQuery: await editorValue(page, '.graphiql-query-editor .CodeMirror'),
  };
  await screenshot(page, '1-ide-loaded.png');

  // 2. A federated query, typed and run.
  const typed = await typeInto(page, '.graphiql-query-editor', config.query);
  const result = await run(page);
  report.steps.query = { editor: typed, response: result };
  await screenshot(page, '2-federated-query.png');

  // 3. The admin token in the headers editor, then a mutation.
  await page.click('.graphiql-editor-tools button[data-name="headers"]');
  const headersEditor = '.graphiql-editor-tool .graphiql-editor:not(.hidden)';
  await page.waitForSelector(headersEditor + ' .CodeMirror', { state: 'visible' });
  const headers = await typeInto(page, headersEditor, config.headers);
  const mutationTyped = await typeInto(page, '.graphiql-query-editor', config.mutation);
  const mutationResult = await run(page);
  report.steps.mutation = { headers, editor: mutationTyped, response: mutationResult };
  await screenshot(page, '3-create-book.png');

  // 4. A REST route in the browser: the page is the JSON document.
  const restResp = await page.goto(new URL(config.restPath, base).href, { waitUntil: 'load' });
  report.steps.rest = {
    status: restResp.status(),
    contentType: restResp.headers()['content-type'] || '',
    // Chromium shows a JSON document in a <pre>; newer versions add a
    // pretty-print control outside it.
    text: await page.evaluate(() => (document.querySelector('pre') || document.body).innerText),
  };
  await screenshot(page, '4-rest-books.png');

  // 5. The guard itself, last so that it can hide nothing: a navigation
  // off the router must be aborted and reported.
  let probeError = null;
  try {
    await page.goto(config.probeURL, { waitUntil: 'load' });
  } catch (err) {
    probeError = String(err.message || err);
  }
  report.steps.probe = { url: config.probeURL, error: probeError };
} catch (err) {
  report.error = String(err && err.stack ? err.stack : err);
  process.exitCode = 1;
} finally {
  if (context) {
    await context.close().catch((err) => {
      report.error = (report.error ? report.error + '\n' : '') + 'closing the browser: ' + err;
      process.exitCode = 1;
    });
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}
