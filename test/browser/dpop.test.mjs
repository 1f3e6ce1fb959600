// Browser test of DPoP in the demo page against the local Rotor server with
// ROTOR_DPOP=optional (scripts/browser-test.sh): the page binds its session
// to a non-extractable P-256 key it keeps in IndexedDB; protected calls and
// the page's silent refresh work with it, across a reload, with either
// refresh transport; and the refresh token copied out of the browser (from
// IndexedDB, or the HttpOnly cookies from the cookie jar) and used from
// outside (Node's fetch, which has no key) is refused with
// invalid_dpop_proof, without ending the page's session.
//
// Environment: ROTOR_URL, ROTOR_ACCESS_TTL_SECONDS, CHROMIUM_PATH, as
// browser.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.ROTOR_URL;
const TTL_MS = Number(process.env.ROTOR_ACCESS_TTL_SECONDS ?? 3) * 1000;
const PASSWORD = 'correct horse battery staple';

if (!BASE) throw new Error('ROTOR_URL is required (run scripts/browser-test.sh)');

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (page, sel) => page.locator(sel).textContent();

async function waitText(page, sel, want, timeout = 10_000) {
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout });
}

/** Calls /me from the page and waits until the call finished. */
async function callMe(page) {
  const before = await page.evaluate(() => document.getElementById('log').children.length);
  await page.click('#call-me');
  await page.waitForFunction((n) => document.getElementById('log').children.length > n, before);
  await page.waitForFunction(() => /GET \/me|session ended/.test(document.getElementById('log').firstElementChild?.textContent ?? ''));
}

/** The tokens the page keeps (IndexedDB 'rotor-demo', keyed by the transport). */
function storedTokens(page, transport) {
  return page.evaluate(
    (transport) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open('rotor-demo');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('tokens').objectStore('tokens').get(transport);
          get.onsuccess = () => resolve(get.result);
        };
      }),
    transport,
  );
}

/**
 * Posts the page's refresh token to /auth/refresh from Node (no key, so no
 * proof), as a thief who copied it would: from IndexedDB (body transport),
 * or the HttpOnly cookies from the browser's cookie jar (cookie transport).
 */
async function stolenRefresh(context, page, transport) {
  const stored = await storedTokens(page, transport);
  if (transport === 'body') {
    assert.ok(stored.refreshToken);
    return fetch(`${BASE}/auth/refresh`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: stored.refreshToken }),
    });
  }
  const jar = Object.fromEntries((await context.cookies(`${BASE}/auth/refresh`)).map((c) => [c.name, c.value]));
  assert.ok(jar.rotor_refresh && jar.rotor_csrf);
  return fetch(`${BASE}/auth/refresh`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Rotor-Refresh-Transport': 'cookie',
      'X-CSRF-Token': jar.rotor_csrf,
      Origin: BASE,
      Cookie: `rotor_refresh=${jar.rotor_refresh}; rotor_csrf=${jar.rotor_csrf}`,
    },
    body: '{}',
  });
}

for (const transport of ['cookie', 'body']) test(`${transport} transport: the demo binds its session to this browser; DPoP calls and refresh work, a copied refresh token does not`, async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    const me = [];
    const proofs = [];
    page.on('request', (req) => {
      const path = new URL(req.url()).pathname;
      if (path === '/me' || path === '/auth/refresh' || path === '/auth/login') proofs.push([path, req.headers()['dpop'] !== undefined, req.headers()['authorization']?.split(' ')[0]]);
    });
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/me') me.push(res.status());
    });
    // No ?dpop: the page turns DPoP on because the server advertises it.
    await page.goto(`${BASE}/?poll=0&transport=${transport}`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#dpop-switch').isChecked(), true, 'DPoP is on by default when the server offers it');

    await page.fill('#username', `dpop${process.pid}x${Date.now()}`);
    await page.fill('#password', PASSWORD);
    await page.click('#signup');
    await waitText(page, '#session-state', 'logged in');
    await waitText(page, '#me-count', '1');
    assert.equal(await text(page, '#token-type'), 'DPoP');
    const key = await text(page, '#dpop-key');
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    await waitText(page, '#cnf-jkt', key);
    assert.equal(await text(page, '#dpop-extractable'), 'false');
    // The page's own script cannot read the private key out.
    const exported = await page.evaluate(async () => {
      const open = indexedDB.open('rotor-demo');
      const db = await new Promise((r) => (open.onsuccess = () => r(open.result)));
      const pair = await new Promise((r) => {
        const get = db.transaction('keys').objectStore('keys').get('dpop');
        get.onsuccess = () => r(get.result);
      });
      try {
        await crypto.subtle.exportKey('jwk', pair.privateKey);
        return 'exported';
      } catch (err) {
        return err.name;
      }
    });
    assert.equal(exported, 'InvalidAccessError');

    // The access token expires: the page's refresh (with a proof) and the retried call work.
    await sleep(TTL_MS + 1000);
    await callMe(page);
    assert.equal(await text(page, '#last-status'), '200');
    assert.equal(await text(page, '#refresh-count'), '1');
    assert.deepEqual(me, [200, 401, 200]);
    for (const [path, hasProof, scheme] of proofs) {
      assert.ok(hasProof, `${path} carried a DPoP proof`);
      if (path === '/me') assert.equal(scheme, 'DPoP');
    }

    // The refresh token copied out of the browser, used without the key.
    const res = await stolenRefresh(context, page, transport);
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, 'invalid_dpop_proof');
    // So is the access token under Bearer.
    const stolen = await storedTokens(page, transport);
    const asBearer = await fetch(`${BASE}/me`, { headers: { Authorization: `Bearer ${stolen.accessToken}` } });
    assert.equal(asBearer.status, 401);

    // The thief ended nothing: after a reload (same key, from IndexedDB) the page refreshes again.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    await waitText(page, '#dpop-key', key);
    await sleep(TTL_MS + 1000);
    await callMe(page);
    assert.equal(await text(page, '#last-status'), '200');
    await waitText(page, '#cnf-jkt', key);
  } finally {
    await context.close();
  }
});

test('with the switch off the same page gets bearer tokens', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${BASE}/?poll=0&transport=body&dpop=off`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#dpop-switch').isChecked(), false);
    await page.fill('#username', `bearer${process.pid}x${Date.now()}`);
    await page.fill('#password', PASSWORD);
    await page.click('#signup');
    await waitText(page, '#me-count', '1');
    assert.equal(await text(page, '#token-type'), 'Bearer');
    assert.equal(await text(page, '#cnf-jkt'), 'none (a bearer token)');
  } finally {
    await context.close();
  }
});
