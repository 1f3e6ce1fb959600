// Passkeys in Chromium with its built-in virtual authenticator (DevTools
// protocol WebAuthn.enable / WebAuthn.addVirtualAuthenticator, through
// Playwright's CDP session), against the running local server: register a
// passkey on the demo page, log out, sign in with it, list and remove it.
//
// WebAuthn needs a secure context and a domain RP id: the page is opened on
// http://localhost:<port> (ROTOR_PASSKEY_URL), the origin the server allows
// (ROTOR_WEBAUTHN_ORIGINS, set by scripts/browser-test.sh).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const BASE = process.env.ROTOR_PASSKEY_URL;
const PASSWORD = 'correct horse battery staple';

if (!BASE) throw new Error('ROTOR_PASSKEY_URL is required (run scripts/browser-test.sh)');

let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
});

const lastLog = (page) => page.evaluate(() => document.getElementById('log').firstElementChild?.textContent ?? '');

async function waitLog(page, pattern, timeout = 10_000) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('log').firstElementChild?.textContent ?? ''), pattern.source, { timeout });
}

async function waitText(page, sel, want, timeout = 10_000) {
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout });
}

test('register a passkey, log out, sign in with it, list and remove it', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    await page.goto(`${BASE}/?poll=0&dpop=off`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#username', `passkey${process.pid}x${Date.now()}`);
    await page.fill('#password', PASSWORD);
    await page.click('#signup');
    await waitText(page, '#session-state', 'logged in');

    await page.click('#passkey-add');
    await waitLog(page, /passkey\(s\)|failed/);
    assert.equal(await page.locator('#passkeys li').count(), 1, await lastLog(page));
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'the authenticator holds one credential');
    assert.ok(credentials[0].isResidentCredential, 'a discoverable credential');

    await page.click('#logout');
    await waitText(page, '#session-state', 'logged out');

    await page.click('#passkey-login');
    await waitLog(page, /GET \/me|failed/);
    assert.equal(await page.locator('#session-state').textContent(), 'logged in', await lastLog(page));
    assert.equal(await page.locator('#last-status').textContent(), '200');
    const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(after.credentials[0].signCount >= 1, 'the authenticator signed');

    await page.click('#passkey-list');
    await waitLog(page, /passkey\(s\)|failed/);
    assert.equal(await page.locator('#passkeys li').count(), 1);
    assert.doesNotMatch(await page.locator('#passkeys li').first().textContent(), /last used never/, 'the login is recorded');

    await page.click('#passkeys .passkey-remove');
    await waitLog(page, /0 passkey\(s\)|failed/);
    assert.equal(await page.locator('#passkeys li').count(), 0, await lastLog(page));

    // The removed passkey signs in no more.
    await page.click('#logout');
    await waitText(page, '#session-state', 'logged out');
    await page.click('#passkey-login');
    await waitLog(page, /passkey sign-in failed: invalid_passkey/);
    assert.equal(await page.locator('#session-state').textContent(), 'logged out');
  } finally {
    await context.close();
  }
});
