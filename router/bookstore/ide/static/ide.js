// The bookstore's GraphQL IDE: GraphiQL on the router's own endpoint.
// Served as a file, not inline, so the page's Content-Security-Policy can
// forbid inline scripts. The page passes its settings as data- attributes.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  if (!root) {
    return;
  }
  // GraphiQL's dialogs add one <style> element; the page's CSP allows it
  // only with this nonce, which GraphiQL reads from __webpack_nonce__.
  var script = document.currentScript;
  if (script && script.nonce) {
    window.__webpack_nonce__ = script.nonce;
  }
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    root.textContent = 'The GraphQL IDE could not load its scripts (React, ReactDOM, GraphiQL).';
    return;
  }
  var fetcher = window.GraphiQL.createFetcher({ url: root.dataset.endpoint });
  var ide = window.React.createElement(window.GraphiQL, {
    fetcher: fetcher,
    defaultQuery: root.dataset.defaultQuery,
    isHeadersEditorEnabled: true,
    // Headers may hold the admin token: keep them out of localStorage
    // unless the user turns persistence on in the settings.
    shouldPersistHeaders: false,
  });
  root.textContent = '';
  window.ReactDOM.createRoot(root).render(ide);
})();
