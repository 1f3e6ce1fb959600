// Browser test of the demo page against a running local Rotor server
// (scripts/browser-test.sh starts one). It checks what a user would see:
// after the access token expires, the protected /me call still succeeds,
// through exactly one refresh; and two tabs of one browser share that one
// refresh (the Web Locks API serialises them, and the second tab takes the
// tokens the first one stored). And two-factor: enrolment, logins with a
// code from Debian's oathtool (an independent RFC 6238 generator) and with
// a recovery code, each accepted once.
//
// Environment: ROTOR_URL (the server, serving the demo at /),
// ROTOR_ACCESS_TTL_SECONDS (the server's access token lifetime),
// CHROMIUM_PATH (default /usr/bin/chromium).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import qrcode from '../../web/qrcode.mjs';

const BASE = process.env.ROTOR_URL;
const TTL_MS = Number(process.env.ROTOR_ACCESS_TTL_SECONDS ?? 3) * 1000;
const PASSWORD = 'correct horse battery staple';

if (!BASE) throw new Error('ROTOR_URL is required (run scripts/browser-test.sh)');

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let userSeq = 0;
const newUsername = () => `browser${process.pid}x${Date.now()}x${++userSeq}`;

/** Records what a page sends to the API. */
function watch(page) {
  const seen = { refreshes: 0, me: [] };
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === '/auth/refresh') seen.refreshes++;
  });
  page.on('response', (res) => {
    if (new URL(res.url()).pathname === '/me') seen.me.push(res.status());
  });
  page.on('pageerror', (err) => console.error('page error:', err));
  return seen;
}

async function openDemo(context, transport) {
  const page = await context.newPage();
  const seen = watch(page);
  // poll=0: the test decides when /me is called, so each check is exact.
  // dpop=off: these tests are of bearer sessions (test/browser/dpop.test.mjs binds them).
  await page.goto(`${BASE}/?poll=0&transport=${transport}&dpop=off`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, seen };
}

const text = (page, sel) => page.locator(sel).textContent();

async function waitText(page, sel, want, timeout = 10_000) {
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout });
}

async function signUp(page) {
  await page.fill('#username', newUsername());
  await page.fill('#password', PASSWORD);
  await page.click('#signup');
  await waitText(page, '#session-state', 'logged in');
  await waitText(page, '#me-count', '1');
}

/** Calls /me from the page and waits until the call finished. */
async function callMe(page) {
  const before = await page.evaluate(() => document.getElementById('log').children.length);
  await page.click('#call-me');
  await page.waitForFunction((n) => document.getElementById('log').children.length > n, before);
  // A silent refresh logs before the call's own line: wait for the /me line.
  await page.waitForFunction(() => /GET \/me|session ended/.test(document.getElementById('log').firstElementChild?.textContent ?? ''));
}

for (const transport of ['cookie', 'body']) {
  describe(`${transport} transport`, () => {
    test('an expired access token is refreshed once, silently', async () => {
      const context = await browser.newContext();
      try {
        const { page, seen } = await openDemo(context, transport);
        await signUp(page);
        assert.deepEqual(seen.me, [200]);
        assert.equal(seen.refreshes, 0);

        await sleep(TTL_MS + 1000);
        await callMe(page);

        assert.equal(await text(page, '#last-status'), '200');
        assert.equal(await text(page, '#me-count'), '2');
        assert.deepEqual(seen.me, [200, 401, 200], 'the expired token got a 401, the retry succeeded');
        assert.equal(seen.refreshes, 1, 'exactly one /auth/refresh');
        assert.equal(await text(page, '#refresh-count'), '1');
        if (transport === 'cookie') {
          const stored = await page.evaluate(
            () =>
              new Promise((resolve, reject) => {
                const open = indexedDB.open('rotor-demo');
                open.onerror = () => reject(open.error);
                open.onsuccess = () => {
                  const get = open.result.transaction('tokens').objectStore('tokens').get('cookie');
                  get.onsuccess = () => resolve(get.result);
                };
              }),
          );
          assert.ok(stored.accessToken && stored.csrfToken, 'the page keeps the access and CSRF tokens');
          assert.equal(stored.refreshToken, undefined, 'the refresh token never reaches page storage');
        }
      } finally {
        await context.close();
      }
    });

    test('two tabs whose token expired share one refresh', async () => {
      const context = await browser.newContext();
      try {
        const a = await openDemo(context, transport);
        await signUp(a.page);
        const b = await openDemo(context, transport);
        await waitText(b.page, '#session-state', 'logged in'); // the tabs share storage

        // Slow down the network leg of any refresh, so the second tab's 401
        // arrives while the first tab's refresh is still running and holds
        // the lock.
        for (const { page } of [a, b]) {
          await page.route('**/auth/refresh', async (route) => {
            await sleep(1500);
            await route.continue();
          });
        }

        await sleep(TTL_MS + 1000);
        const refreshStarted = a.page.waitForRequest('**/auth/refresh');
        const callA = callMe(a.page);
        await refreshStarted;
        const callB = callMe(b.page);
        await Promise.all([callA, callB]);

        assert.equal(await text(a.page, '#last-status'), '200');
        assert.equal(await text(b.page, '#last-status'), '200');
        assert.deepEqual(a.seen.me, [200, 401, 200]);
        assert.deepEqual(b.seen.me, [401, 200], 'tab B was refused with the old token, then retried with the new one');
        assert.equal(a.seen.refreshes + b.seen.refreshes, 1, 'the server saw exactly one rotation');
        assert.equal(await text(a.page, '#refresh-count'), '1');
        assert.equal(await text(b.page, '#refresh-count'), '0');
      } finally {
        await context.close();
      }
    });
  });
}

// The account recovery a newcomer clicks through after `make dev`: the
// mails land in the page's mailbox panel (GET /dev/mailbox) and their links
// (ROTOR_APP_URL = this server) open the demo page itself.
describe('account recovery in the demo page', () => {
  /** Waits for a link of the mail to `to` in the mailbox panel, and opens it. */
  async function openMailLink(page, to, pathname) {
    const link = page.locator(`#mailbox li[data-to="${to}"] a.mail-link[href*="${pathname}#token="]`).first();
    for (let i = 0; i < 50 && (await link.count()) === 0; i++) {
      await page.click('#refresh-mailbox');
      await sleep(200);
    }
    const href = await link.getAttribute('href');
    assert.ok(href?.startsWith(`${BASE}${pathname}#token=`), `a ${pathname} link to ${to} in the mailbox, on this server: ${href}`);
    await Promise.all([page.waitForURL(`${BASE}/`), link.click()]);
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  }

  test('sign up with an address, verify it, forget the password, reset it; old sessions end', async () => {
    const user = newUsername();
    const address = `${user}@example.com`;
    const newPassword = 'a brand new passphrase';

    // Sign up with an address, and verify it from the mailbox.
    const ctx = await browser.newContext();
    // Session A: logged in before the reset, in its own browser.
    const ctxA = await browser.newContext();
    try {
      const { page } = await openDemo(ctx, 'body');
      await page.fill('#username', user);
      await page.fill('#password', PASSWORD);
      await page.fill('#email', address);
      await page.click('#signup');
      await waitText(page, '#session-state', 'logged in');
      await openMailLink(page, address, '/verify-email');
      await waitText(page, '#link-status', 'Your address is verified.');

      const a = await openDemo(ctxA, 'body');
      await a.page.fill('#username', user);
      await a.page.fill('#password', PASSWORD);
      await a.page.click('#login');
      await waitText(a.page, '#session-state', 'logged in');

      // Forgot password → the reset mail → the reset form.
      await page.fill('#forgot-account', user);
      await page.click('#forgot');
      await openMailLink(page, address, '/reset-password');
      assert.equal(await page.locator('#reset-form').isVisible(), true, 'the reset form is offered');
      await page.fill('#new-password', newPassword);
      await page.click('#reset');
      await page.waitForFunction(() => /password was changed/.test(document.getElementById('link-status').textContent));

      // The new password logs in; the old one does not.
      await page.fill('#username', user);
      await page.fill('#password', PASSWORD);
      await page.click('#login');
      await page.waitForFunction(() => /login failed: invalid_credentials/.test(document.getElementById('log').textContent));
      await page.fill('#password', newPassword);
      await page.click('#login');
      await waitText(page, '#session-state', 'logged in');

      // Session A's access token expires; its refresh is refused.
      await sleep(TTL_MS + 1000);
      await callMe(a.page);
      assert.equal(await text(a.page, '#last-status'), 'session ended');
      assert.equal(a.seen.refreshes, 1, 'session A tried one refresh');
      await waitText(a.page, '#session-state', 'logged out');
    } finally {
      await ctx.close();
      await ctxA.close();
    }
  });
});

// Two-factor in the demo page (issue 21), with Debian's oathtool as the
// authenticator app: enrol, confirm, log in with a code, with a recovery
// code; a replayed code and a spent recovery code are refused.
describe('two-factor in the demo page', () => {
  const STEP_S = 30;
  const stepOf = (ms) => Math.floor(ms / 1000 / STEP_S);

  /** The app's code for `secret` at `ms` (default now), from oathtool; and its time step. */
  function appCode(secret, ms = Date.now()) {
    const seconds = Math.floor(ms / 1000);
    const code = execFileSync('oathtool', ['--totp', '-b', '-N', `@${seconds}`, secret], { encoding: 'utf8' }).trim();
    assert.match(code, /^[0-9]{6}$/);
    return { code, step: stepOf(ms) };
  }

  async function logIn(page, user) {
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('#login');
  }

  async function logOut(page) {
    await page.click('#logout');
    await waitText(page, '#session-state', 'logged out');
  }

  /** Logs in up to the second step: the page asks for a code, and no session exists yet. */
  async function reachSecondStep(page, user) {
    await logIn(page, user);
    await page.waitForSelector('#mfa-form:not([hidden])');
    assert.equal(await text(page, '#session-state'), 'logged out', 'a session before the second factor');
  }

  /** Waits for the log line of a refused second factor, after `n` log lines. */
  async function waitRefused(page, n) {
    await page.waitForFunction(
      (k) => [...document.getElementById('log').children].slice(0, document.getElementById('log').children.length - k).some((li) => /second factor refused/.test(li.textContent)),
      n,
    );
  }
  const logLength = (page) => page.evaluate(() => document.getElementById('log').children.length);

  for (const transport of ['cookie', 'body']) test(`${transport} transport: enrol (QR code + URI), confirm, log in with an oathtool code and with a recovery code, each once`, async () => {
    const context = await browser.newContext();
    try {
      // The body transport sends the device token of the tab's earlier login
      // in the body: the mfa_token is bound to it, so the second step must
      // send it too (the cookie transport's rides in a cookie).
      const { page, seen } = await openDemo(context, transport);
      await signUp(page);
      const user = await page.inputValue('#username');

      // Enrolment asks for the current password.
      await page.fill('#enrol-password', 'not the password');
      await page.click('#enrol');
      await page.waitForFunction(() => /Enrolment refused: invalid_credentials/.test(document.getElementById('mfa-status').textContent));
      assert.equal(await page.locator('#enrol-pending').isVisible(), false);

      await page.fill('#enrol-password', PASSWORD);
      await page.click('#enrol');
      await page.waitForSelector('#enrol-pending:not([hidden])');
      const secret = await text(page, '#totp-secret');
      const uri = await text(page, '#otpauth-uri');
      assert.match(secret, /^[A-Z2-7]{16,}$/);
      const parsed = new URL(uri);
      assert.equal(parsed.protocol, 'otpauth:');
      assert.equal(parsed.searchParams.get('secret'), secret, 'the URI carries the secret shown');

      // The QR code encodes exactly the URI shown (the same encoder, run here
      // on the URI text, draws the same modules).
      const drawn = await page.locator('#otpauth-qr svg path').getAttribute('d');
      const modules = Number(await page.locator('#otpauth-qr svg').getAttribute('data-modules'));
      const qr = qrcode(0, 'M');
      qr.addData(uri);
      qr.make();
      assert.equal(modules, qr.getModuleCount());
      const dark = [];
      for (let r = 0; r < modules; r++) for (let c = 0; c < modules; c++) if (qr.isDark(r, c)) dark.push(`M${c + 4},${r + 4}h1v1h-1z`);
      assert.equal(drawn, dark.join(''), 'the QR code is not the URI shown');

      // Confirm with the app's code: ten recovery codes, shown once.
      const confirmed = appCode(secret);
      await page.fill('#confirm-code', confirmed.code);
      await page.click('#confirm');
      await page.waitForSelector('#recovery-codes-box:not([hidden])');
      const codes = await page.locator('#recovery-codes li').allTextContents();
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const c of codes) assert.match(c, /^[a-z0-9]{5}-[a-z0-9]{5}$/);
      assert.equal(await text(page, '#totp-secret'), '', 'the secret stays on the page after confirmation');
      await logOut(page);
      assert.equal(await page.locator('#recovery-codes li').count(), 0, 'the recovery codes outlive the session on the page');

      // Log in: a code is asked. The code of the step that confirmed was
      // spent; wait for the next step's code, as a user's app shows it.
      await reachSecondStep(page, user);
      while (stepOf(Date.now()) <= confirmed.step) await sleep(250);
      const login = appCode(secret);
      await page.fill('#mfa-code', login.code);
      await page.click('#mfa-verify');
      await waitText(page, '#session-state', 'logged in');
      await page.waitForFunction(() => /logged in as .* with a code/.test(document.getElementById('log').textContent));
      await page.waitForFunction(() => document.getElementById('last-status').textContent === '200');
      assert.equal(seen.me.at(-1), 200, 'the session the code started calls /me');
      await logOut(page);

      // The same code again, within its validity: refused (a code works
      // once); the page keeps the second step open, and a recovery code
      // finishes it.
      await reachSecondStep(page, user);
      let n = await logLength(page);
      await page.fill('#mfa-code', login.code);
      await page.click('#mfa-verify');
      await waitRefused(page, n);
      assert.equal(await text(page, '#session-state'), 'logged out', 'a replayed code started a session');
      assert.match(await page.locator('#log li').first().textContent(), /invalid_code/);
      await page.click('#mfa-use-recovery');
      await page.fill('#mfa-recovery', codes[3]);
      await page.click('#mfa-verify');
      await waitText(page, '#session-state', 'logged in');
      await page.waitForFunction(() => /logged in as .* with a recovery code/.test(document.getElementById('log').textContent));
      await logOut(page);

      // The same recovery code again: refused.
      await reachSecondStep(page, user);
      n = await logLength(page);
      await page.click('#mfa-use-recovery');
      await page.fill('#mfa-recovery', codes[3]);
      await page.click('#mfa-verify');
      await waitRefused(page, n);
      assert.match(await page.locator('#log li').first().textContent(), /invalid_code/);
      await sleep(500);
      assert.equal(await text(page, '#session-state'), 'logged out', 'a spent recovery code started a session');

      // A wrong password is still just a wrong password: no second step.
      await page.click('#mfa-cancel');
      await page.fill('#username', user);
      await page.fill('#password', 'not the password');
      await page.click('#login');
      await page.waitForFunction(() => /login failed: invalid_credentials/.test(document.getElementById('log').textContent));
      assert.equal(await page.locator('#mfa-form').isVisible(), false);
    } finally {
      await context.close();
    }
  });
});
