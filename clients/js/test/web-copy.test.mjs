import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

// The demo page embeds a copy of the built client (web/rotor-client.js) so
// the Go build needs no npm step; it must be the client these tests test.
test('web/rotor-client.js is the current build (run `npm run sync-web` if not)', async () => {
  const built = await readFile(new URL('../dist/index.js', import.meta.url), 'utf8');
  const copy = await readFile(new URL('../../../web/rotor-client.js', import.meta.url), 'utf8');
  assert.ok(copy === built, 'web/rotor-client.js differs from clients/js/dist/index.js: run `npm run sync-web` in clients/js');
});

// The page resolves the client's "dpop" import to web/dpop.mjs (its import
// map): it must be the version the client is built and tested with.
test('web/dpop.mjs is the dpop package the client depends on (run `npm run sync-web` if not)', async () => {
  const installed = await readFile(new URL('../node_modules/dpop/build/index.js', import.meta.url), 'utf8');
  const copy = await readFile(new URL('../../../web/dpop.mjs', import.meta.url), 'utf8');
  assert.ok(copy === installed, 'web/dpop.mjs differs from node_modules/dpop/build/index.js: run `npm run sync-web` in clients/js');
});
