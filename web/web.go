package web

import "embed"

// Demo is the demo page's static files, rooted at the page's directory
// (index.html at the top). rotor-client.js is a copy of the client built
// from clients/js, kept in the tree so a fresh clone builds without npm;
// `npm run sync-web` in clients/js refreshes it, and the client's tests
// fail when it is stale.
//
//go:embed index.html demo.js demo.css rotor-client.js
var Demo embed.FS
