// A passkey as the second step of a password login, in Chromium with its
// built-in virtual authenticator (DevTools protocol WebAuthn, as
// passkey.test.mjs), against the running local server: a user with an
// authenticator app (codes from Debian's oathtool) and a passkey logs in with
// the password; the page offers "Use a passkey"; the virtual authenticator
// answers; the page shows a session whose amr has mfa.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
const text = (page, sel) => page.locator(sel).textContent();

async function waitLog(page, pattern, timeout = 10_000) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('log').firstElementChild?.textContent ?? ''), pattern.source, { timeout });
}

async function waitText(page, sel, want, timeout = 10_000) {
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout });
}

/** The authenticator app's code for the base32 secret now, from oathtool. */
function appCode(secret) {
  const code = execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
  assert.match(code, /^[0-9]{6}$/);
  return code;
}

test('a user with TOTP and a passkey finishes a password login with the passkey', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    await page.goto(`${BASE}/?poll=0`);
    await page.waitForSelector('body[data-ready="true"]');
    const user = `mfapasskey${process.pid}x${Date.now()}`;
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('#signup');
    await waitText(page, '#session-state', 'logged in');
    assert.equal(await text(page, '#amr'), 'pwd', 'a password session before any second factor');

    // A passkey, then an authenticator app.
    await page.click('#passkey-add');
    await waitLog(page, /passkey\(s\)|failed/);
    assert.equal(await page.locator('#passkeys li').count(), 1, await lastLog(page));
    await page.fill('#enrol-password', PASSWORD);
    await page.click('#enrol');
    await page.waitForSelector('#enrol-pending:not([hidden])');
    await page.fill('#confirm-code', appCode(await text(page, '#totp-secret')));
    await page.click('#confirm');
    await page.waitForSelector('#recovery-codes-box:not([hidden])');

    await page.click('#logout');
    await waitText(page, '#session-state', 'logged out');
    const signed = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0].signCount;

    // The password is right: the second step is asked, a passkey offered.
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#mfa-form:not([hidden])');
    assert.equal(await text(page, '#session-state'), 'logged out', 'a session before the second factor');
    assert.ok(await page.locator('#mfa-use-passkey').isVisible(), 'the page does not offer the passkey');

    await page.click('#mfa-use-passkey');
    await waitLog(page, /GET \/me|refused|failed/);
    assert.match(await page.evaluate(() => document.getElementById('log').textContent), /logged in as .* with a passkey/, await lastLog(page));
    assert.equal(await text(page, '#session-state'), 'logged in');
    assert.equal(await text(page, '#last-status'), '200');
    assert.equal(await page.locator('#mfa-form').isVisible(), false);
    const amr = (await text(page, '#amr')).split(' ');
    assert.ok(amr.includes('mfa') && amr.includes('pwd'), `amr ${amr.join(' ')}: want pwd and mfa`);
    const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0].signCount;
    assert.ok(after > signed, 'the authenticator signed the second step');
  } finally {
    await context.close();
  }
});

test('without a passkey the second step does not offer one', async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${BASE}/?poll=0`);
    await page.waitForSelector('body[data-ready="true"]');
    const user = `mfanopasskey${process.pid}x${Date.now()}`;
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('#signup');
    await waitText(page, '#session-state', 'logged in');
    await page.fill('#enrol-password', PASSWORD);
    await page.click('#enrol');
    await page.waitForSelector('#enrol-pending:not([hidden])');
    await page.fill('#confirm-code', appCode(await text(page, '#totp-secret')));
    await page.click('#confirm');
    await page.waitForSelector('#recovery-codes-box:not([hidden])');
    await page.click('#logout');
    await waitText(page, '#session-state', 'logged out');

    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await page.click('#login');
    await page.waitForSelector('#mfa-form:not([hidden])');
    assert.equal(await page.locator('#mfa-use-passkey').isVisible(), false, 'a passkey offered to a user who has none');
  } finally {
    await context.close();
  }
});
