// The Rotor demo page: plain JavaScript over the built client.
//
// Query parameters: ?transport=cookie|body (default cookie: the refresh token
// stays in an HttpOnly cookie), ?poll=<ms> (default 1000; 0 turns the /me
// loop off, for tests that call /me by hand).
import { createRotorFetch, indexedDBStorage, SessionEndedError, RotorError, accessExpiry } from './rotor-client.js';

const params = new URLSearchParams(location.search);
const transport = params.get('transport') === 'body' ? 'body' : 'cookie';
const pollMs = params.has('poll') ? Number(params.get('poll')) : 1000;
// IndexedDB, shared by every tab of the site: a tab that waited for another
// tab's refresh reads the tokens that tab stored, instead of refreshing again.
const storage = indexedDBStorage('rotor-demo', transport);
const $ = (id) => document.getElementById(id);

let refreshes = 0;
let meCalls = 0;
let timer = null;
let polling = pollMs > 0;

const rf = createRotorFetch({
  baseUrl: location.origin,
  storage,
  transport,
  onRefresh(tokens) {
    refreshes++;
    $('refresh-count').textContent = String(refreshes);
    log(`silent refresh #${refreshes}: new access token, expires in ${secondsLeft(tokens)} s`, 'refresh');
  },
  onSessionEnded(err) {
    log(`session ended: ${err.message}. Log in again.`, 'error');
    showSession();
  },
});

function log(text, kind = '') {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (kind) li.className = kind;
  $('log').prepend(li);
}

function secondsLeft(tokens) {
  const exp = accessExpiry(tokens.accessToken) ?? tokens.accessExpiresAt;
  return exp === undefined ? '?' : Math.max(0, Math.round((exp - Date.now()) / 1000));
}

async function showSession() {
  const tokens = await storage.load();
  $('session-state').textContent = tokens ? 'logged in' : 'logged out';
  $('expires-in').textContent = tokens ? `${secondsLeft(tokens)} s` : '–';
  return tokens;
}

async function callMe() {
  try {
    const res = await rf('/me');
    const body = await res.json().catch(() => ({}));
    $('last-status').textContent = String(res.status);
    if (res.ok) {
      meCalls++;
      $('me-count').textContent = String(meCalls);
      $('me-user').textContent = `(${body.username})`;
      log(`GET /me → ${res.status} ${body.username}`);
    } else {
      $('me-user').textContent = '';
      log(`GET /me → ${res.status} ${body.error ?? ''}`, 'error');
    }
  } catch (err) {
    $('last-status').textContent = err instanceof SessionEndedError ? 'session ended' : 'error';
    if (!(err instanceof SessionEndedError)) log(`GET /me failed: ${err.message}`, 'error');
  }
  await showSession();
}

function schedule() {
  clearTimeout(timer);
  $('toggle-poll').textContent = polling ? 'Pause polling' : 'Resume polling';
  if (!polling || pollMs <= 0) return;
  timer = setTimeout(async () => {
    if (await storage.load()) await callMe();
    else await showSession();
    schedule();
  }, pollMs);
}

function credentials() {
  return [$('username').value.trim(), $('password').value];
}

async function login() {
  const [username, password] = credentials();
  try {
    const tokens = await rf.login(username, password);
    log(`logged in as ${username}; access token expires in ${secondsLeft(tokens)} s`);
    await showSession();
    await callMe();
  } catch (err) {
    log(`login failed: ${describe(err)}`, 'error');
  }
}

function describe(err) {
  if (err instanceof RotorError) {
    return err.retryAfterSeconds ? `${err.code} (retry in ${err.retryAfterSeconds} s)` : `${err.code}: ${err.description}`;
  }
  return err.message;
}

$('auth-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  login();
});
$('signup').addEventListener('click', async () => {
  const [username, password] = credentials();
  try {
    const { user_id } = await rf.signup(username, password);
    log(`signed up ${username} (${user_id})`);
    await login();
  } catch (err) {
    log(`sign-up failed: ${describe(err)}`, 'error');
  }
});
$('logout').addEventListener('click', async () => {
  try {
    await rf.logout();
    log('logged out');
  } catch (err) {
    log(`logout failed: ${describe(err)}`, 'error');
  }
  await showSession();
});
async function listPasskeys() {
  const list = $('passkeys');
  try {
    const passkeys = await rf.listPasskeys();
    list.replaceChildren();
    for (const p of passkeys) {
      const li = document.createElement('li');
      li.dataset.id = p.id;
      li.textContent = `${p.name}${p.backup_eligible ? ' (synced)' : ''}, last used ${p.last_used_at ?? 'never'} `;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'passkey-remove';
      remove.textContent = 'Remove';
      remove.addEventListener('click', async () => {
        try {
          await rf.removePasskey(p.id);
          log(`passkey ${p.name} removed`);
        } catch (err) {
          log(`removing the passkey failed: ${describe(err)}`, 'error');
        }
        await listPasskeys();
      });
      li.append(remove);
      list.append(li);
    }
    list.dataset.count = String(passkeys.length);
    log(`${passkeys.length} passkey(s)`);
  } catch (err) {
    log(`listing passkeys failed: ${describe(err)}`, 'error');
  }
}

$('passkey-add').addEventListener('click', async () => {
  try {
    const p = await rf.registerPasskey(`demo passkey ${new Date().toLocaleTimeString()}`);
    log(`passkey added: ${p.name}`);
    await listPasskeys();
  } catch (err) {
    log(`adding a passkey failed: ${describe(err)}`, 'error');
  }
});
$('passkey-login').addEventListener('click', async () => {
  try {
    const tokens = await rf.loginWithPasskey();
    log(`signed in with a passkey; access token expires in ${secondsLeft(tokens)} s`);
    await showSession();
    await callMe();
  } catch (err) {
    log(`passkey sign-in failed: ${describe(err)}`, 'error');
  }
});
$('passkey-list').addEventListener('click', () => listPasskeys());
$('call-me').addEventListener('click', () => callMe());
$('toggle-poll').addEventListener('click', () => {
  polling = !polling;
  schedule();
});

$('transport').textContent = transport === 'cookie' ? 'an HttpOnly cookie' : 'localStorage';
showSession();
schedule();
document.body.dataset.ready = 'true';
