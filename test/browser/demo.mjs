// The demo page as the passkey tests (passkey.test.mjs, mfa-passkey.test.mjs)
// drive it: headless Chromium, the page on ROTOR_PASSKEY_URL, its log and
// state fields, Chromium's built-in virtual authenticator (DevTools protocol
// WebAuthn.enable / WebAuthn.addVirtualAuthenticator, through Playwright's
// CDP session), sign-up and authenticator-app enrolment with codes from
// Debian's oathtool.
//
// WebAuthn needs a secure context and a domain RP id: the page is opened on
// http://localhost:<port> (ROTOR_PASSKEY_URL), the origin the server allows
// (ROTOR_WEBAUTHN_ORIGINS, set by scripts/browser-test.sh).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

export const BASE = process.env.ROTOR_PASSKEY_URL;
export const PASSWORD = 'correct horse battery staple';

if (!BASE) throw new Error('ROTOR_PASSKEY_URL is required (run scripts/browser-test.sh)');

/** Headless Chromium from CHROMIUM_PATH (default Debian's /usr/bin/chromium). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new page of context, its errors logged. */
export async function newPage(context) {
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err));
  return page;
}

/** The demo page, ready (poll=0: the test decides when /me is called). */
export async function openDemo(page, query = '') {
  await page.goto(`${BASE}/?poll=0${query}`);
  await page.waitForSelector('body[data-ready="true"]');
}

/**
 * A virtual platform authenticator (resident keys, user verification, presence
 * simulated) on page: the CDP session and the authenticator's id.
 */
export async function addAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

export const lastLog = (page) => page.evaluate(() => document.getElementById('log').firstElementChild?.textContent ?? '');
export const text = (page, sel) => page.locator(sel).textContent();

/** Waits for the newest log line to match pattern. */
export async function waitLog(page, pattern, timeout = 10_000) {
  await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('log').firstElementChild?.textContent ?? ''), pattern.source, { timeout });
}

/** Waits for the element sel to read want. */
export async function waitText(page, sel, want, timeout = 10_000) {
  await page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent === w, [sel, want], { timeout });
}

/** Signs user up with PASSWORD on the page: a logged-in session. */
export async function signUp(page, user) {
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.click('#signup');
  await waitText(page, '#session-state', 'logged in');
}

/** The authenticator app's code for the base32 secret now, from oathtool. */
export function appCode(secret) {
  const code = execFileSync('oathtool', ['--totp', '-b', secret], { encoding: 'utf8' }).trim();
  assert.match(code, /^[0-9]{6}$/);
  return code;
}

/** Enrols an authenticator app and confirms it with its first code: the recovery codes shown. */
export async function enrolApp(page) {
  await page.fill('#enrol-password', PASSWORD);
  await page.click('#enrol');
  await page.waitForSelector('#enrol-pending:not([hidden])');
  await page.fill('#confirm-code', appCode(await text(page, '#totp-secret')));
  await page.click('#confirm');
  await page.waitForSelector('#recovery-codes-box:not([hidden])');
}
