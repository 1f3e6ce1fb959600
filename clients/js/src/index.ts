/**
 * @rotor-auth/client: a `fetch` wrapper for APIs protected by Rotor.
 *
 * It sends the access token as a bearer token. When a protected route
 * answers 401 it exchanges the refresh token for a new pair once, however
 * many requests failed together and however many tabs of the same site are
 * open, stores the pair and retries each request once. When the server
 * refuses the refresh token the session is over: calls reject with
 * {@link SessionEndedError} and `onSessionEnded` runs, with no retry loop.
 *
 * Browsers may keep the refresh token out of JavaScript's reach with
 * `transport: 'cookie'`: the server then sets it as an HttpOnly cookie and
 * the client only keeps the access token and a CSRF token.
 *
 * With `dpop: true` the session is bound to a non-extractable P-256 key
 * this client keeps in IndexedDB (DPoP, RFC 9449): each token call and API
 * call carries a proof signed with it, so a copy of the tokens is useless
 * without the key, and script can use the key but never read it out. The
 * proofs are made by the `dpop` package (WebCrypto, no dependencies).
 *
 * @packageDocumentation
 */

import { generateKeyPair, generateProof } from 'dpop';

/** The tokens a login or refresh returns, as the client keeps them. */
export interface Tokens {
  /** The short-lived JWT sent as `Authorization: Bearer`, or `Authorization: DPoP` with a proof. */
  accessToken: string;
  /** The server's `token_type`: `DPoP` for a pair bound to the client's key; absent or `Bearer` otherwise. */
  tokenType?: string;
  /** The opaque refresh token; absent with the cookie transport, where the browser holds it. */
  refreshToken?: string;
  /** Cookie transport only: sent as `X-CSRF-Token` on refresh and logout. */
  csrfToken?: string;
  /** When the access token expires, in milliseconds since the epoch by the client's clock. */
  accessExpiresAt?: number;
}

/**
 * Where the client keeps the current tokens. Tabs that share a storage
 * (such as {@link indexedDBStorage}) share a session, and share its
 * refreshes.
 */
export interface TokenStorage {
  /** Returns the stored tokens, or null when there are none. */
  load(): Tokens | null | Promise<Tokens | null>;
  /** Replaces the stored tokens. */
  save(tokens: Tokens): void | Promise<void>;
  /** Forgets the stored tokens. */
  clear(): void | Promise<void>;
  /**
   * Calls `listener` when another tab changes the stored tokens, and
   * returns a function that stops it. Optional: used to wake a tab that
   * waits for another tab's refresh when Web Locks are missing.
   */
  subscribe?(listener: () => void): () => void;
}

/** A storage that lives as long as the page or process: one tab, one session. */
export function memoryStorage(initial: Tokens | null = null): TokenStorage {
  let tokens = initial;
  return {
    load: () => tokens,
    save: (t) => {
      tokens = { ...t };
    },
    clear: () => {
      tokens = null;
    },
  };
}

/**
 * A storage over the Web Storage API (`localStorage` by default), shared by
 * every tab of the origin. Anything that can run script on the page can
 * read it: prefer `transport: 'cookie'`, which keeps the refresh token out
 * of it. Tabs stay correct with it, but one may read another's write late
 * and refresh a second time (the server's grace window answers that with
 * the same pair); {@link indexedDBStorage} avoids it.
 */
export function webStorage(area: Storage = globalThis.localStorage, key = 'rotor.tokens'): TokenStorage {
  return {
    load() {
      const raw = area.getItem(key);
      if (raw === null) return null;
      try {
        const t = JSON.parse(raw) as Tokens;
        return typeof t.accessToken === 'string' ? t : null;
      } catch {
        return null;
      }
    },
    save: (t) => area.setItem(key, JSON.stringify(t)),
    clear: () => area.removeItem(key),
    subscribe(listener) {
      const target = globalThis as unknown as EventTarget;
      if (typeof target.addEventListener !== 'function') return () => {};
      const onStorage = (ev: Event) => {
        const se = ev as StorageEvent;
        if (se.storageArea === area && (se.key === key || se.key === null)) listener();
      };
      target.addEventListener('storage', onStorage);
      return () => target.removeEventListener('storage', onStorage);
    },
  };
}

/**
 * A storage in IndexedDB, shared by every tab of the origin: the right
 * choice for several tabs. A write resolves once its transaction has
 * committed, and every read asks the database, so a tab that takes the
 * refresh lock after another tab released it always reads the tokens that
 * tab saved. (`localStorage` does not promise that: in Chromium each tab's
 * renderer keeps a copy that other tabs' writes reach a little later, and a
 * tab can read the old tokens just after taking the lock, and refresh
 * again.)
 */
export function indexedDBStorage(dbName = 'rotor', key = 'tokens', factory: IDBFactory = globalThis.indexedDB): TokenStorage {
  const db = rotorDB(dbName, factory);
  return {
    load: async () => ((await db.run('tokens', 'readonly', (s) => s.get(key))) as Tokens | undefined) ?? null,
    save: async (t) => {
      await db.run('tokens', 'readwrite', (s) => s.put({ ...t }, key));
    },
    clear: async () => {
      await db.run('tokens', 'readwrite', (s) => s.delete(key));
    },
  };
}

/**
 * Opens (once) the client's IndexedDB database, with an object store for
 * the tokens and one for the device tokens, and runs one request per
 * transaction, resolving when the transaction has committed.
 */
function rotorDB(dbName: string, factory: IDBFactory) {
  const stores = ['tokens', 'devices', 'keys'];
  let opened: Promise<IDBDatabase> | undefined;
  const open = () =>
    (opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      // Version 2 added the devices store, 3 the DPoP keys; an upgrade keeps what was there.
      const req = factory.open(dbName, 3);
      req.onupgradeneeded = () => {
        for (const name of stores) {
          if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }));
  return {
    async run<T>(storeName: string, mode: IDBTransactionMode, op: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
      const db = await open();
      return new Promise<T>((resolve, reject) => {
        const tx = db.transaction(storeName, mode);
        const req = op(tx.objectStore(storeName));
        // Resolve on commit, not on the request's success: a write must be
        // visible to other tabs before the refresh lock is released.
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = tx.onabort = () => reject(tx.error ?? req.error);
      });
    },
  };
}

/**
 * Where the client keeps the device token each login returns, per
 * username. The server throttles a login that presents its device token
 * apart from strangers, so someone guessing the password cannot lock this
 * browser out. Device tokens outlive logouts. Not needed with
 * `transport: 'cookie'`, where the server keeps the device token in an
 * HttpOnly cookie.
 */
export interface DeviceStorage {
  /** Returns the device token of `username`, or null when there is none. */
  get(username: string): string | null | undefined | Promise<string | null | undefined>;
  /** Replaces the device token of `username`. */
  set(username: string, token: string): void | Promise<void>;
}

/** The key a device token is kept under: the username trimmed, in lower case. */
function deviceKey(username: string): string {
  return username.trim().toLowerCase();
}

/** A device storage that lives as long as the page or process. */
export function memoryDeviceStorage(): DeviceStorage {
  const tokens = new Map<string, string>();
  return {
    get: (u) => tokens.get(deviceKey(u)) ?? null,
    set: (u, t) => {
      tokens.set(deviceKey(u), t);
    },
  };
}

/**
 * A device storage in IndexedDB (the `devices` store of the database
 * {@link indexedDBStorage} uses), kept across reloads and shared by every
 * tab of the origin.
 */
export function indexedDBDeviceStorage(dbName = 'rotor', factory: IDBFactory = globalThis.indexedDB): DeviceStorage {
  const db = rotorDB(dbName, factory);
  return {
    get: async (u) => {
      const v = await db.run('devices', 'readonly', (s) => s.get(deviceKey(u)));
      return typeof v === 'string' ? v : null;
    },
    set: async (u, t) => {
      await db.run('devices', 'readwrite', (s) => s.put(t, deviceKey(u)));
    },
  };
}

/**
 * Where the client keeps its DPoP key pair (`dpop: true`). The pair must
 * outlive the tokens bound to it: a session refuses every other key.
 */
export interface DPoPKeyStorage {
  /** Returns the stored key pair, or null when there is none. */
  load(): CryptoKeyPair | null | undefined | Promise<CryptoKeyPair | null | undefined>;
  /**
   * Stores `pair` unless a pair is stored already, and returns the stored
   * one: two tabs creating a key at once end up with the same key.
   */
  add(pair: CryptoKeyPair): CryptoKeyPair | Promise<CryptoKeyPair>;
}

/** A DPoP key storage that lives as long as the page or process. */
export function memoryKeyStorage(): DPoPKeyStorage {
  let stored: CryptoKeyPair | null = null;
  return {
    load: () => stored,
    add: (pair) => (stored ??= pair),
  };
}

/**
 * A DPoP key storage in IndexedDB (the `keys` store of the database
 * {@link indexedDBStorage} uses), shared by every tab of the origin and kept
 * across reloads. IndexedDB stores the CryptoKey objects themselves (the
 * structured clone of a non-extractable key stays non-extractable): the
 * private key's bytes are never exposed to script, nor written anywhere
 * script could read them.
 */
export function indexedDBKeyStorage(dbName = 'rotor', key = 'dpop', factory: IDBFactory = globalThis.indexedDB): DPoPKeyStorage {
  const db = rotorDB(dbName, factory);
  const load = async () => ((await db.run('keys', 'readonly', (s) => s.get(key))) as CryptoKeyPair | undefined) ?? null;
  return {
    load,
    async add(pair) {
      try {
        // add, not put: a pair another tab stored first is kept.
        await db.run('keys', 'readwrite', (s) => s.add(pair, key));
        return pair;
      } catch (err) {
        const stored = await load();
        if (stored) return stored;
        throw err;
      }
    },
  };
}

/** An error answer of the Rotor API, `{"error","error_description"}`. */
export class RotorError extends Error {
  override name = 'RotorError';
  constructor(
    /** The HTTP status. */
    readonly status: number,
    /** The `error` code, such as `invalid_credentials`. */
    readonly code: string,
    /** The `error_description` text. */
    readonly description: string,
    /** The `Retry-After` header of a 429, in seconds. */
    readonly retryAfterSeconds?: number,
    /** The `retry_ticket` of a 503 to a refresh: sent back on the retry. */
    readonly retryTicket?: string,
  ) {
    super(code ? `rotor: ${status} ${code}: ${description}` : `rotor: server answered ${status}`);
  }
}

/**
 * The password was right and the account has a second factor: the server
 * answered 403 `mfa_required`. Finish the login with
 * {@link RotorFetch.verifyMfa}, passing this error and the user's code.
 */
export class MfaRequiredError extends RotorError {
  override name = 'MfaRequiredError';
  constructor(
    description: string,
    /** The short-lived, single-use token that binds the second step to this login. */
    readonly mfaToken: string,
    /** The second factors on offer, such as `totp`, `recovery_code` and `passkey`. */
    readonly methods: string[],
    /** Who logged in: the verify's device token is kept for this username. */
    readonly username = '',
  ) {
    super(403, 'mfa_required', description);
  }
}

/** The second factor of {@link RotorFetch.verifyMfa}: an app's code, or a recovery code. */
export type MfaFactor = { code: string } | { recoveryCode: string };

/** A pending TOTP enrolment: the secret (base32) and its `otpauth://` URI for an authenticator app. */
export interface TotpEnrolment {
  secret: string;
  otpauthUri: string;
}

/**
 * Whether `res` is RFC 9470's refusal of a route that needs a multi-factor
 * login: 401 with `WWW-Authenticate: Bearer error="insufficient_user_authentication"`.
 * The client returns such an answer as it is, without refreshing: a refresh
 * keeps the session's methods; a login with a second factor is what helps.
 * (Cross-origin, the API must expose WWW-Authenticate, as Rotor's does.)
 */
export function stepUpRequired(res: Response): boolean {
  return res.status === 401 && (res.headers.get('WWW-Authenticate') ?? '').includes('error="insufficient_user_authentication"');
}

/**
 * The session is over: the server refused the refresh token (unknown,
 * expired, revoked or reused) or no tokens are stored. The user must log in
 * again; the stored tokens have been cleared.
 */
export class SessionEndedError extends Error {
  override name = 'SessionEndedError';
  constructor(
    message: string,
    /** The HTTP status of the refused refresh, absent when nothing was stored. */
    readonly status?: number,
    /** The server's error code, such as `invalid_grant`. */
    readonly code?: string,
  ) {
    super(`rotor: session ended: ${message}`);
  }
}

/**
 * The part of the Web Locks API (`navigator.locks`) the client needs, so
 * tests and other runtimes can supply their own.
 */
export interface RefreshLock {
  /** Runs `callback` while holding the lock called `name`, resolving to its result. */
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** How {@link createRotorFetch} is set up. */
export interface RotorFetchOptions {
  /** The API's root, with any stage prefix, such as `https://api.example.com/Prod`. */
  baseUrl: string;
  /** Where tokens live; {@link memoryStorage} by default. */
  storage?: TokenStorage;
  /**
   * Where device tokens live, per username ({@link indexedDBDeviceStorage}
   * keeps them across reloads); {@link memoryDeviceStorage} by default,
   * `null` to send none. Unused with `transport: 'cookie'`: the browser
   * keeps the device token as an HttpOnly cookie.
   */
  devices?: DeviceStorage | null;
  /**
   * How the refresh token travels: `'body'` (default) keeps it in storage;
   * `'cookie'` lets the server keep it in an HttpOnly cookie on `/auth`.
   */
  transport?: 'body' | 'cookie';
  /** The fetch to wrap; the global fetch by default. */
  fetch?: typeof fetch;
  /**
   * The lock that makes one tab at a time refresh. Defaults to
   * `navigator.locks` where it exists; `null` turns cross-tab locking off.
   */
  locks?: RefreshLock | null;
  /** The lock's name; `rotor-refresh` by default. */
  lockName?: string;
  /**
   * Without Web Locks, tabs announce their refreshes on a BroadcastChannel
   * of this name (`rotor-refresh` by default) so the others wait for the
   * result; `null` turns it off. Two tabs that still race are kept correct
   * by the server's grace window.
   */
  channelName?: string | null;
  /** How long, in ms, to wait for another tab's announced refresh; 5000 by default. */
  peerWaitMs?: number;
  /** Refresh before sending when the access token expires within this many ms; 0 (off) by default. */
  refreshBeforeMs?: number;
  /** The clock, in ms since the epoch; `Date.now` by default. */
  now?: () => number;
  /** Called after this client exchanged a refresh token for a new pair. */
  onRefresh?: (tokens: Tokens) => void;
  /** Called once when the server refuses the refresh token, after storage is cleared. */
  onSessionEnded?: (error: SessionEndedError) => void;
  /** The WebAuthn credentials container of the passkey calls; `navigator.credentials` by default. */
  credentials?: CredentialsContainer;
  /**
   * Binds the session to a key pair this client holds (DPoP, RFC 9449).
   * The first login makes a non-extractable P-256 key with WebCrypto and
   * keeps it in `dpopKeys`; login, the second step, refresh and logout then
   * carry a proof signed with it, and when the server answers `token_type`
   * `DPoP` every API call sends `Authorization: DPoP` with a proof of its
   * method, URL and token. A server nonce (`use_dpop_nonce`) is taken and
   * the call retried once; the latest nonce is kept per origin. A refresh
   * whose answer never came is retried at once with the same token and a
   * fresh proof (the server answers a bound session's key with the same
   * successor). Off by default; a server with DPoP off answers Bearer and
   * the proofs are ignored.
   */
  dpop?: boolean;
  /**
   * Where the DPoP key pair lives: {@link indexedDBKeyStorage} by default
   * where IndexedDB exists (one key per origin, reused across reloads and
   * tabs), else {@link memoryKeyStorage}.
   */
  dpopKeys?: DPoPKeyStorage;
}

/** One passkey as `GET /auth/passkeys` lists it. */
export interface Passkey {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  aaguid?: string;
  transports?: string[];
  /** A synced passkey (iCloud Keychain, Google Password Manager...). */
  backup_eligible: boolean;
  backup_state: boolean;
  user_verified: boolean;
}

/**
 * A `fetch` that authenticates requests to the API, with the calls that
 * start and end a session.
 */
export interface RotorFetch {
  (input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /**
   * Creates a user, with an email address when `email` is given (a
   * verification mail goes to it); resolves to the new user's id. The answer
   * is the same whether or not another account holds the address.
   */
  signup(username: string, password: string, email?: string): Promise<{ user_id: string }>;
  /** Verifies the address with the token of a verification or address-change mail. */
  verifyEmail(token: string): Promise<void>;
  /** Asks for a new verification mail for the logged-in user's unverified or pending address. */
  resendVerification(): Promise<void>;
  /**
   * Changes the logged-in user's address: a verification mail goes to
   * `newEmail`, and the change applies once it is verified.
   */
  changeEmail(currentPassword: string, newEmail: string): Promise<void>;
  /**
   * Asks for a password-reset mail for the account named by `username` or
   * by its verified `email`. Resolves alike whether or not such an account
   * exists; rejects only for a malformed request or a 429.
   */
  forgotPassword(account: { username: string } | { email: string }): Promise<void>;
  /** Sets a new password with the token of a reset mail; every session of the user ends. */
  resetPassword(token: string, newPassword: string): Promise<void>;
  /**
   * Logs in and stores the tokens. Rejects with a {@link RotorError} when
   * refused, and with a {@link MfaRequiredError} when the password was right
   * but the account has a second factor.
   */
  login(username: string, password: string): Promise<Tokens>;
  /**
   * Finishes a login that rejected with {@link MfaRequiredError}, at
   * `/auth/mfa/verify`, and stores the tokens as `login` does.
   */
  verifyMfa(challenge: MfaRequiredError, factor: MfaFactor): Promise<Tokens>;
  /**
   * Finishes a login that rejected with {@link MfaRequiredError} whose
   * `methods` include `passkey`: request options for this login's user
   * (`/auth/mfa/passkey/options`) go to `navigator.credentials.get`, the
   * assertion to `/auth/mfa/verify`; stores the tokens as `login` does.
   */
  verifyMfaWithPasskey(challenge: MfaRequiredError, options?: { signal?: AbortSignal }): Promise<Tokens>;
  /**
   * Starts a TOTP enrolment for the logged-in user (`POST /auth/mfa/totp`).
   * `currentPassword` is needed unless the login is recent. The factor stays
   * pending until {@link RotorFetch.confirmTotp}.
   */
  enrolTotp(currentPassword?: string): Promise<TotpEnrolment>;
  /**
   * Confirms the pending factor with a code from the app; resolves to the 10
   * recovery codes, which the server shows this once.
   */
  confirmTotp(code: string): Promise<string[]>;
  /** A new set of 10 recovery codes on a current code; the old set stops working. */
  regenerateRecoveryCodes(code: string): Promise<string[]>;
  /** Removes the factor, proven with a current code or a recovery code (spent). */
  removeTotp(proof: MfaFactor): Promise<void>;
  /** Ends the session on the server and clears storage. */
  logout(): Promise<void>;
  /** Refreshes the stored tokens now (shared with any refresh already running). */
  refresh(): Promise<Tokens>;
  /**
   * Registers a passkey for the signed-in user: the server's creation
   * options go to `navigator.credentials.create`, its answer back to the
   * server. `currentPassword` is needed when the login is older than five
   * minutes. Resolves to the new passkey.
   */
  registerPasskey(name?: string, currentPassword?: string): Promise<Passkey>;
  /**
   * Signs in with a passkey the browser holds for this site (no username:
   * discoverable credentials) and stores the tokens. `mediation:
   * 'conditional'` offers the passkeys in the username field's autofill
   * (the field needs `autocomplete="username webauthn"`).
   */
  loginWithPasskey(options?: { mediation?: CredentialMediationRequirement; signal?: AbortSignal }): Promise<Tokens>;
  /** The signed-in user's passkeys, oldest first. */
  listPasskeys(): Promise<Passkey[]>;
  /** Renames one of the signed-in user's passkeys. */
  renamePasskey(id: string, name: string): Promise<void>;
  /** Removes one of the signed-in user's passkeys (`currentPassword` as for registration). */
  removePasskey(id: string, currentPassword?: string): Promise<void>;
  /**
   * The DPoP key pair (`dpop: true`), made and stored on first use; null
   * without `dpop`. Its private key is not extractable: page script can
   * sign with it through this client, never read it out.
   */
  dpopKeyPair(): Promise<CryptoKeyPair | null>;
  /** Releases the BroadcastChannel and storage listener, if any. */
  close(): void;
}

const transportHeader = 'X-Rotor-Refresh-Transport';

/**
 * Wraps fetch for a Rotor API. Requests to other origins than `baseUrl`,
 * and requests that already carry an Authorization header, pass through
 * untouched, so tokens never reach another host. A string URL that is not
 * absolute is taken relative to `baseUrl` (`'/me'` is `baseUrl + '/me'`).
 */
export function createRotorFetch(options: RotorFetchOptions): RotorFetch {
  const base = new URL(options.baseUrl);
  const root = options.baseUrl.replace(/\/+$/, '');
  const storage = options.storage ?? memoryStorage();
  const cookie = options.transport === 'cookie';
  const devices = cookie ? null : options.devices === undefined ? memoryDeviceStorage() : options.devices;
  const now = options.now ?? Date.now;
  const send: typeof fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const coordinator = makeCoordinator(options, storage, now);
  const inflight = new Map<string, Promise<Tokens>>();
  const dpop = options.dpop
    ? dpopSigner(options.dpopKeys ?? (globalThis.indexedDB ? indexedDBKeyStorage() : memoryKeyStorage()))
    : null;

  function toRequest(input: RequestInfo | URL, init?: RequestInit): Request {
    if (typeof input === 'string' && !isAbsolute(input)) {
      input = root + (input.startsWith('/') ? input : '/' + input);
    }
    return new Request(input, init);
  }

  function withBearer(req: Request, accessToken: string): Request {
    const headers = new Headers(req.headers);
    headers.set('Authorization', `Bearer ${accessToken}`);
    return new Request(req, { headers });
  }

  /** Whether `tokens` are bound to this client's DPoP key. */
  const bound = (tokens: Tokens) => dpop !== null && tokens.tokenType?.toLowerCase() === 'dpop';

  /**
   * Sends `req` with the access token: as a bearer token, or for a bound
   * pair as `Authorization: DPoP` with a proof of this request, retried
   * once with the server's nonce when the answer asks for one.
   */
  async function authorized(req: Request, tokens: Tokens): Promise<Response> {
    if (!dpop || !bound(tokens)) return send(withBearer(req, tokens.accessToken));
    const spare = req.clone();
    const withProof = async (r: Request) => {
      const headers = new Headers(r.headers);
      headers.set('Authorization', `DPoP ${tokens.accessToken}`);
      headers.set('DPoP', await dpop.proof(r.method, r.url, tokens.accessToken));
      return new Request(r, { headers });
    };
    const res = await send(await withProof(req));
    if (!dpop.keepNonce(req.url, res) || !(await useDPoPNonce(res))) return res;
    await res.body?.cancel().catch(() => {});
    return send(await withProof(spare));
  }

  /**
   * The calls that start, use or end a session: with `dpop` each carries a
   * proof. The second step's calls too: the server binds a login's
   * mfa_token to the key of its proof.
   */
  const tokenPaths = new Set(['/auth/login', '/auth/mfa/passkey/options', '/auth/mfa/verify', '/auth/passkeys/login', '/auth/refresh', '/auth/logout']);

  async function postAuth(path: string, body: unknown, csrfToken?: string): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (cookie) {
      headers[transportHeader] = 'cookie';
      if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
    }
    const post = async () => {
      if (dpop && tokenPaths.has(path)) headers.DPoP = await dpop.proof('POST', root + path);
      return send(root + path, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        credentials: cookie ? 'include' : 'same-origin',
      });
    };
    const res = await post();
    if (!dpop || !tokenPaths.has(path) || !dpop.keepNonce(root + path, res) || !(await useDPoPNonce(res))) return res;
    await res.body?.cancel().catch(() => {});
    return post();
  }

  /** Reads a token response; a login's device token goes to `login.deviceToken`. */
  async function readTokens(res: Response, previous?: Tokens, login?: { deviceToken?: string }): Promise<Tokens> {
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.access_token !== 'string' || !body.access_token) {
      throw new RotorError(res.status, 'invalid_response', 'token response lacks access_token');
    }
    const tokens: Tokens = { accessToken: body.access_token };
    if (typeof body.token_type === 'string' && body.token_type) tokens.tokenType = body.token_type;
    if (typeof body.refresh_token === 'string') tokens.refreshToken = body.refresh_token;
    const csrf = typeof body.csrf_token === 'string' ? body.csrf_token : previous?.csrfToken;
    if (csrf) tokens.csrfToken = csrf;
    if (typeof body.expires_in === 'number') tokens.accessExpiresAt = now() + body.expires_in * 1000;
    if (login && typeof body.device_token === 'string' && body.device_token) login.deviceToken = body.device_token;
    if (!cookie && !tokens.refreshToken) {
      throw new RotorError(res.status, 'invalid_response', 'token response lacks refresh_token');
    }
    return tokens;
  }

  /**
   * The retry ticket of a refresh answered 503, by the refresh token it was
   * for ('' in the cookie transport): the next refresh with that token sends
   * it, so a rotation the server applied late is collected, not taken for theft.
   */
  const tickets = new Map<string, string>();

  /** Calls /auth/refresh with `current` and stores the new pair. */
  async function exchange(current: Tokens): Promise<Tokens> {
    if (!cookie && !current.refreshToken) return endSession(new SessionEndedError('no refresh token stored'));
    const key = cookie ? '' : (current.refreshToken as string);
    const body: Record<string, string> = cookie ? {} : { refresh_token: key };
    const ticket = tickets.get(key);
    if (ticket) body.retry_ticket = ticket;
    let res: Response;
    try {
      res = await postAuth('/auth/refresh', body, current.csrfToken);
    } catch (err) {
      // The answer never came. A bound session's server answers the same
      // token with a fresh proof by its key with the same successor, so one
      // retry at once is safe; a bearer session waits for the next call
      // (after the grace window its retry would be taken for reuse).
      if (!bound(current)) throw err;
      res = await postAuth('/auth/refresh', body, current.csrfToken);
    }
    if (res.status !== 503) tickets.delete(key);
    if (res.ok) {
      const tokens = await readTokens(res, current);
      await storage.save(tokens);
      options.onRefresh?.(tokens);
      return tokens;
    }
    const err = await readError(res);
    if (res.status === 503 && err.retryTicket) tickets.set(key, err.retryTicket);
    // A nonce that went stale between the two tries refuses nothing: the next call tries again.
    if (err.code === 'use_dpop_nonce') throw err;
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      return endSession(new SessionEndedError(`${err.code || res.status}: ${err.description}`, res.status, err.code));
    }
    throw err;
  }

  async function endSession(err: SessionEndedError): Promise<never> {
    await storage.clear();
    options.onSessionEnded?.(err);
    throw err;
  }

  /**
   * Returns the tokens that replace the pair whose access token is
   * `stale`. One refresh per stale token in this tab; under the cross-tab
   * lock the storage is read again, so a tab whose tokens another tab
   * already rotated takes those instead of refreshing.
   */
  function refreshFrom(stale: string): Promise<Tokens> {
    let flight = inflight.get(stale);
    if (!flight) {
      flight = coordinator
        .run(async () => {
          const current = await storage.load();
          if (!current) throw new SessionEndedError('no tokens stored');
          if (current.accessToken !== stale) return current;
          return exchange(current);
        })
        .finally(() => inflight.delete(stale));
      inflight.set(stale, flight);
    }
    return flight;
  }

  function expiresWithin(tokens: Tokens, marginMs: number): boolean {
    const exp = accessExpiry(tokens.accessToken) ?? tokens.accessExpiresAt;
    return exp !== undefined && now() + marginMs >= exp;
  }

  /** Reads a login's (or an MFA verify's) answer: stores the tokens and the device token. */
  async function finishLogin(username: string, res: Response): Promise<Tokens> {
    if (!res.ok) throw await readError(res, username);
    const issued: { deviceToken?: string } = {};
    const tokens = await readTokens(res, undefined, issued);
    await storage.save(tokens);
    if (devices && username && issued.deviceToken) await devices.set(username, issued.deviceToken);
    return tokens;
  }

  const rotorFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = toRequest(input, init);
    if (new URL(req.url).origin !== base.origin || req.headers.has('Authorization')) return send(req);
    let tokens = await storage.load();
    if (!tokens) return send(req); // not logged in: protected routes answer 401 to the caller

    const margin = options.refreshBeforeMs ?? 0;
    if (margin > 0 && expiresWithin(tokens, margin)) {
      try {
        tokens = await refreshFrom(tokens.accessToken);
      } catch (err) {
        // A refused token ends the session; a failed call leaves the
        // still-valid token in use and the 401 path to try again.
        if (err instanceof SessionEndedError) throw err;
      }
    }

    // Cloned before the first send consumes the body, so the retry sends
    // exactly the same bytes.
    const spare = req.clone();
    const first = await authorized(req, tokens);
    // A step-up refusal is the caller's to see: a refresh would change nothing.
    // So is a wrong current password (enrolTotp, changeEmail): the token was
    // good, and a retry would count the same wrong password twice.
    if (first.status !== 401 || stepUpRequired(first) || (await wrongPassword(first))) return first;
    await first.body?.cancel().catch(() => {});

    const fresh = await refreshFrom(tokens.accessToken);
    return authorized(spare, fresh);
  };

  /** An authenticated JSON call to the API; a refusal rejects with a {@link RotorError}. */
  async function call(path: string, method: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const init: RequestInit = { method, headers, credentials: cookie ? 'include' : 'same-origin' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await rotorFetch(root + path, init);
    if (!res.ok) throw await readError(res);
    return res;
  }

  /** The browser's WebAuthn JSON support (WebAuthn Level 3), or a refusal. */
  function webauthn(): { json: WebAuthnJSON; credentials: CredentialsContainer } {
    const json = (globalThis as { PublicKeyCredential?: WebAuthnJSON }).PublicKeyCredential;
    const credentials = options.credentials ?? globalThis.navigator?.credentials;
    if (!json?.parseCreationOptionsFromJSON || !json.parseRequestOptionsFromJSON || !credentials) {
      throw new RotorError(0, 'passkeys_unsupported', 'this browser cannot use passkeys (WebAuthn JSON forms)');
    }
    return { json, credentials };
  }

  return Object.assign(rotorFetch, {
    async registerPasskey(name = '', currentPassword?: string) {
      const { json, credentials } = webauthn();
      const res = await call('/auth/passkeys/register/options', 'POST', currentPassword ? { current_password: currentPassword } : {});
      const publicKey = json.parseCreationOptionsFromJSON(await res.json());
      const credential = (await credentials.create({ publicKey })) as JSONCredential | null;
      if (!credential) throw new RotorError(0, 'passkey_cancelled', 'no passkey was created');
      const added = await call('/auth/passkeys/register', 'POST', { credential: credential.toJSON(), name });
      return (await added.json()) as Passkey;
    },
    async loginWithPasskey(o: { mediation?: CredentialMediationRequirement; signal?: AbortSignal } = {}) {
      const { json, credentials } = webauthn();
      const opts = await postAuth('/auth/passkeys/login/options', {});
      if (!opts.ok) throw await readError(opts);
      const publicKey = json.parseRequestOptionsFromJSON(await opts.json());
      const credential = (await credentials.get({ publicKey, mediation: o.mediation, signal: o.signal })) as JSONCredential | null;
      if (!credential) throw new RotorError(0, 'passkey_cancelled', 'no passkey was chosen');
      const res = await postAuth('/auth/passkeys/login', { credential: credential.toJSON() });
      if (!res.ok) throw await readError(res);
      const tokens = await readTokens(res);
      await storage.save(tokens);
      return tokens;
    },
    async listPasskeys() {
      const res = await call('/auth/passkeys', 'GET');
      return ((await res.json()) as { passkeys: Passkey[] }).passkeys;
    },
    async renamePasskey(id: string, name: string) {
      await call(`/auth/passkeys/${encodeURIComponent(id)}`, 'PATCH', { name });
    },
    async removePasskey(id: string, currentPassword?: string) {
      await call(`/auth/passkeys/${encodeURIComponent(id)}`, 'DELETE', currentPassword ? { current_password: currentPassword } : {});
    },
    async signup(username: string, password: string, email?: string) {
      const res = await postAuth('/auth/signup', email === undefined ? { username, password } : { username, password, email });
      if (!res.ok) throw await readError(res);
      return (await res.json()) as { user_id: string };
    },
    async verifyEmail(token: string) {
      await expectOk(await postAuth('/auth/email/verify', { token }));
    },
    async resendVerification() {
      await expectOk(await rotorFetch(root + '/auth/email/verify/resend', jsonPost({})));
    },
    async changeEmail(currentPassword: string, newEmail: string) {
      await expectOk(await rotorFetch(root + '/auth/email', jsonPost({ current_password: currentPassword, email: newEmail })));
    },
    async forgotPassword(account: { username: string } | { email: string }) {
      await expectOk(await postAuth('/auth/password/forgot', account));
    },
    async resetPassword(token: string, newPassword: string) {
      await expectOk(await postAuth('/auth/password/reset', { token, new_password: newPassword }));
    },
    async login(username: string, password: string) {
      const body: Record<string, string> = { username, password };
      const device = await devices?.get(username);
      if (device) body.device_token = device;
      return finishLogin(username, await postAuth('/auth/login', body));
    },
    async verifyMfaWithPasskey(challenge: MfaRequiredError, o: { signal?: AbortSignal } = {}) {
      const { json, credentials } = webauthn();
      const body: Record<string, unknown> = { mfa_token: challenge.mfaToken };
      // Both calls carry the device token the login sent (the mfa_token is bound to it).
      const device = challenge.username ? await devices?.get(challenge.username) : undefined;
      if (device) body.device_token = device;
      const opts = await postAuth('/auth/mfa/passkey/options', body);
      if (!opts.ok) throw await readError(opts);
      const publicKey = json.parseRequestOptionsFromJSON(await opts.json());
      const credential = (await credentials.get({ publicKey, signal: o.signal })) as JSONCredential | null;
      if (!credential) throw new RotorError(0, 'passkey_cancelled', 'no passkey was chosen');
      return finishLogin(challenge.username, await postAuth('/auth/mfa/verify', { ...body, credential: credential.toJSON() }));
    },
    async verifyMfa(challenge: MfaRequiredError, factor: MfaFactor) {
      const body: Record<string, string> = { mfa_token: challenge.mfaToken };
      if ('code' in factor) body.code = factor.code;
      else body.recovery_code = factor.recoveryCode;
      // The mfa_token is bound to the device token the login sent (the body
      // transport's, from `devices`; the cookie transport's rides in its cookie).
      const device = challenge.username ? await devices?.get(challenge.username) : undefined;
      if (device) body.device_token = device;
      return finishLogin(challenge.username, await postAuth('/auth/mfa/verify', body));
    },
    async enrolTotp(currentPassword?: string) {
      const body = currentPassword === undefined ? {} : { current_password: currentPassword };
      const res = await rotorFetch(root + '/auth/mfa/totp', jsonPost(body));
      if (!res.ok) throw await readError(res);
      const got = (await res.json()) as Record<string, unknown>;
      if (typeof got.secret !== 'string' || typeof got.otpauth_uri !== 'string' || !got.otpauth_uri.startsWith('otpauth://totp/')) {
        throw new RotorError(res.status, 'invalid_response', 'enrolment answer lacks secret or otpauth_uri');
      }
      return { secret: got.secret, otpauthUri: got.otpauth_uri };
    },
    async confirmTotp(code: string) {
      return readRecoveryCodes(await rotorFetch(root + '/auth/mfa/totp/confirm', jsonPost({ code })));
    },
    async regenerateRecoveryCodes(code: string) {
      return readRecoveryCodes(await rotorFetch(root + '/auth/mfa/recovery-codes', jsonPost({ code })));
    },
    async removeTotp(proof: MfaFactor) {
      const body = 'code' in proof ? { code: proof.code } : { recovery_code: proof.recoveryCode };
      await expectOk(await rotorFetch(root + '/auth/mfa/totp', { ...jsonPost(body), method: 'DELETE' }));
    },
    async logout() {
      const current = await storage.load();
      if (!current) return;
      await storage.clear();
      const res = await postAuth('/auth/logout', cookie ? {} : { refresh_token: current.refreshToken }, current.csrfToken);
      await res.body?.cancel().catch(() => {});
      // 401: the session had already ended, which is what was asked for.
      if (!res.ok && res.status !== 401) throw await readError(res);
    },
    async refresh() {
      const current = await storage.load();
      if (!current) throw new SessionEndedError('no tokens stored');
      return refreshFrom(current.accessToken);
    },
    async dpopKeyPair() {
      return dpop ? dpop.keyPair() : null;
    },
    close() {
      coordinator.close();
    },
  });
}

/**
 * Signs DPoP proofs with the key pair in `keys` (made, non-extractable, on
 * first use) and keeps the latest server nonce per origin.
 */
function dpopSigner(keys: DPoPKeyStorage) {
  let pair: Promise<CryptoKeyPair> | undefined;
  const nonces = new Map<string, string>();
  const keyPair = () =>
    (pair ??= (async () => {
      const stored = await keys.load();
      if (stored) return stored;
      // Only the public half is extractable (the proof embeds it as a JWK).
      return keys.add(await generateKeyPair('ES256', { extractable: false }));
    })().catch((err) => {
      pair = undefined;
      throw err;
    }));
  return {
    keyPair,
    /** A proof for `method` at `url` (htu without query and fragment), with `ath` when `accessToken` is given. */
    async proof(method: string, url: string, accessToken?: string): Promise<string> {
      const htu = new URL(url);
      const nonce = nonces.get(htu.origin);
      htu.search = '';
      htu.hash = '';
      return generateProof(await keyPair(), htu.href, method, nonce, accessToken);
    },
    /** Keeps the DPoP-Nonce `res` carries, if any (a server may send one with any answer); reports whether it did. */
    keepNonce(url: string, res: Response): boolean {
      const nonce = res.headers.get('DPoP-Nonce');
      if (!nonce) return false;
      nonces.set(new URL(url).origin, nonce);
      return true;
    },
  };
}

/**
 * Whether `res` asks for a proof with the server's nonce: 400
 * `use_dpop_nonce` from a token endpoint, or 401 with `WWW-Authenticate:
 * DPoP error="use_dpop_nonce"` from a resource (RFC 9449 §8, §9). Reads a
 * clone.
 */
async function useDPoPNonce(res: Response): Promise<boolean> {
  if (res.status === 401) return (res.headers.get('WWW-Authenticate') ?? '').includes('error="use_dpop_nonce"');
  if (res.status !== 400) return false;
  try {
    return ((await res.clone().json()) as Record<string, unknown>).error === 'use_dpop_nonce';
  } catch {
    return false;
  }
}

/** Whether a 401 is the API's `invalid_credentials` (a wrong current password), read from a clone. */
async function wrongPassword(res: Response): Promise<boolean> {
  if (!(res.headers.get('Content-Type') ?? '').includes('json')) return false;
  try {
    const body = (await res.clone().json()) as Record<string, unknown>;
    return body.error === 'invalid_credentials';
  } catch {
    return false;
  }
}

/** A JSON POST for the bearer calls, which go through the wrapped fetch. */
function jsonPost(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) };
}

/** Reads a `{"recovery_codes": [...]}` answer, or rejects with its {@link RotorError}. */
async function readRecoveryCodes(res: Response): Promise<string[]> {
  if (!res.ok) throw await readError(res);
  const got = (await res.json()) as Record<string, unknown>;
  const codes = got.recovery_codes;
  if (!Array.isArray(codes) || codes.length === 0 || !codes.every((c): c is string => typeof c === 'string')) {
    throw new RotorError(res.status, 'invalid_response', 'answer lacks recovery_codes');
  }
  return codes;
}

/** Resolves for a 2xx answer (its body discarded), rejects with its {@link RotorError} otherwise. */
async function expectOk(res: Response): Promise<void> {
  if (!res.ok) throw await readError(res);
  await res.body?.cancel().catch(() => {});
}

/**
 * Reads the token of a mail's link from a URL fragment such as
 * `#token=rtp_...` (`location.hash`). Rotor's links carry their token in
 * the fragment, which browsers send in no request and no `Referer`; a page
 * should remove it from the address bar once read (`history.replaceState`).
 */
export function linkToken(hash: string = globalThis.location?.hash ?? ''): string | undefined {
  const token = new URLSearchParams(hash.replace(/^#/, '')).get('token');
  return token || undefined;
}

/** WebAuthn Level 3's JSON forms, as the passkey calls use them. */
interface WebAuthnJSON {
  parseCreationOptionsFromJSON(options: unknown): PublicKeyCredentialCreationOptions;
  parseRequestOptionsFromJSON(options: unknown): PublicKeyCredentialRequestOptions;
}

/** A PublicKeyCredential with its `toJSON()`. */
interface JSONCredential extends Credential {
  toJSON(): unknown;
}

async function readError(res: Response, username = ''): Promise<RotorError> {
  let code = '';
  let description = '';
  let ticket: string | undefined;
  try {
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.error_description === 'string') description = body.error_description;
    if (typeof body.retry_ticket === 'string') ticket = body.retry_ticket;
    if (res.status === 403 && code === 'mfa_required' && typeof body.mfa_token === 'string' && body.mfa_token) {
      const methods = Array.isArray(body.mfa_methods) ? body.mfa_methods.filter((m): m is string => typeof m === 'string') : [];
      return new MfaRequiredError(description, body.mfa_token, methods, username);
    }
  } catch {
    // Not the API's error shape: the status alone tells what happened.
  }
  const retryAfter = Number(res.headers.get('Retry-After'));
  return new RotorError(res.status, code, description, retryAfter > 0 ? retryAfter : undefined, ticket);
}

function isAbsolute(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the `exp` claim of a JWT, unverified, in ms since the epoch. The
 * client holds no keys and needs none: exp only decides when to refresh
 * early, and the server checks every token.
 */
export function accessExpiry(jwt: string): number | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
    const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as { exp?: unknown };
    return typeof claims.exp === 'number' && claims.exp > 0 ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Makes refreshes in this tab, and across tabs where possible, run one at a time. */
interface Coordinator {
  run<T>(fn: () => Promise<T>): Promise<T>;
  close(): void;
}

function makeCoordinator(options: RotorFetchOptions, storage: TokenStorage, now: () => number): Coordinator {
  const locks = options.locks === undefined ? defaultLocks() : options.locks;
  if (locks) {
    const name = options.lockName ?? 'rotor-refresh';
    return { run: (fn) => locks.request(name, () => fn()), close() {} };
  }

  // Without Web Locks: refreshes in this tab run one after another, and
  // other tabs hear about them on a BroadcastChannel.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const result = queue.then(fn, fn);
    queue = result.catch(() => {});
    return result;
  };
  const channelName = options.channelName === undefined ? 'rotor-refresh' : options.channelName;
  if (channelName === null || typeof BroadcastChannel === 'undefined') {
    return { run: serial, close() {} };
  }

  const waitMs = options.peerWaitMs ?? 5000;
  const channel = new BroadcastChannel(channelName);
  (channel as unknown as { unref?: () => void }).unref?.(); // never keep a Node process alive
  let peerBusyUntil = 0;
  let waiters: Array<() => void> = [];
  const wakeAll = () => {
    const w = waiters;
    waiters = [];
    w.forEach((f) => f());
  };
  channel.onmessage = (ev: MessageEvent) => {
    const type = (ev.data as { type?: string } | null)?.type;
    if (type === 'refresh-start') peerBusyUntil = now() + waitMs;
    if (type === 'refresh-done') {
      peerBusyUntil = 0;
      wakeAll();
    }
  };
  const unsubscribe = storage.subscribe?.(wakeAll);

  const waitForPeer = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, peerBusyUntil - now()));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      waiters.push(done);
    });

  return {
    run: (fn) =>
      serial(async () => {
        if (peerBusyUntil > now()) await waitForPeer();
        channel.postMessage({ type: 'refresh-start' });
        try {
          return await fn();
        } finally {
          channel.postMessage({ type: 'refresh-done' });
        }
      }),
    close() {
      unsubscribe?.();
      channel.close();
      wakeAll();
    },
  };
}

function defaultLocks(): RefreshLock | null {
  const nav = (globalThis as { navigator?: { locks?: RefreshLock } }).navigator;
  return nav?.locks ?? null;
}
