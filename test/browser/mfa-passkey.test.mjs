// A passkey as the second step of a password login, in Chromium with its
// built-in virtual authenticator (demo.mjs), against the running local
// server: a user with an authenticator app (codes from Debian's oathtool) and
// a passkey logs in with the password; the page offers "Use a passkey"; the
// virtual authenticator answers; the page shows a session whose amr has mfa.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PASSWORD, addAuthenticator, enrolApp, lastLog, launch, newPage, openDemo, signUp, text, waitLog, waitText } from './demo.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test('a user with TOTP and a passkey finishes a password login with the passkey', async () => {
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    const { cdp, authenticatorId } = await addAuthenticator(context, page);

    await openDemo(page);
    const user = `mfapasskey${process.pid}x${Date.now()}`;
    await signUp(page, user);
    assert.equal(await text(page, '#amr'), 'pwd', 'a password session before any second factor');

    // A passkey, then an authenticator app.
    await page.click('#passkey-add');
    await waitLog(page, /passkey\(s\)|failed/);
    assert.equal(await page.locator('#passkeys li').count(), 1, await lastLog(page));
    await enrolApp(page);

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
    const page = await newPage(context);
    await openDemo(page);
    const user = `mfanopasskey${process.pid}x${Date.now()}`;
    await signUp(page, user);
    await enrolApp(page);
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
