// Passkeys in Chromium with its built-in virtual authenticator (demo.mjs),
// against the running local server: register a passkey on the demo page, log
// out, sign in with it, list and remove it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { addAuthenticator, lastLog, launch, newPage, openDemo, signUp, waitLog, waitText } from './demo.mjs';

let browser;

before(async () => {
  browser = await launch();
});

after(async () => {
  await browser?.close();
});

test('register a passkey, log out, sign in with it, list and remove it', async () => {
  const context = await browser.newContext();
  try {
    const page = await newPage(context);
    const { cdp, authenticatorId } = await addAuthenticator(context, page);

    await openDemo(page, '&dpop=off');
    await signUp(page, `passkey${process.pid}x${Date.now()}`);

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
