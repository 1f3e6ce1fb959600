package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/stepup"
)

// Config is every setting of every Rotor program. Each field names the
// environment variable it is read from.
type Config struct {
	UsersTable      string // ROTOR_USERS_TABLE
	SessionsTable   string // ROTOR_SESSIONS_TABLE
	AttemptsTable   string // ROTOR_ATTEMPTS_TABLE
	SigningSecretID string // ROTOR_SIGNING_SECRET_ID: Secrets Manager id of the signing key
	// MACSecretID is the Secrets Manager id of the server MAC key that tags
	// refresh tokens (ROTOR_MAC_SECRET_ID); local runs generate one.
	MACSecretID string
	// MaxSessionsPerUser caps a user's sessions; a login beyond it ends the
	// oldest (ROTOR_MAX_SESSIONS_PER_USER).
	MaxSessionsPerUser int

	// Issuer is the "iss" of access tokens and the base URL of the API
	// (discovery and JWKS resolve under it): an https URL, or http on a
	// loopback address for local runs. When ROTOR_ISSUER is unset it is the
	// local server's URL, http://<Addr>. In a Lambda function it may contain
	// IssuerAPIID, filled in from the first request's API id (see
	// ResolveIssuer and docs/ARCHITECTURE.md, "The issuer").
	Issuer     string // ROTOR_ISSUER
	Audience   string // ROTOR_AUDIENCE
	SigningAlg string // ROTOR_SIGNING_ALG: ES256 (default), RS256, EdDSA or HS256

	AccessTokenTTL  time.Duration // ROTOR_ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // ROTOR_REFRESH_TOKEN_TTL: idle lifetime, extended on each rotation
	SessionMaxTTL   time.Duration // ROTOR_SESSION_MAX_TTL: absolute lifetime, never extended
	RefreshGrace    time.Duration // ROTOR_REFRESH_GRACE: 0 disables the grace window
	KeyCacheTTL     time.Duration // ROTOR_KEY_CACHE_TTL: how long signing keys are cached
	// KeyActivationDelay is how long a rotated-in signing key is published
	// before it signs: longer than anyone may cache a key set (KeyCacheTTL,
	// plus the JWKS max-age for outside verifiers). The rotation function
	// writes it into each new key. ROTOR_KEY_ACTIVATION_DELAY.
	KeyActivationDelay time.Duration
	// ClockLeeway is the clock skew allowed when verifying exp/nbf/iat
	// (ROTOR_CLOCK_LEEWAY). The tokens are issued and checked by this
	// service's own NTP-synchronised functions, so a few seconds is plenty;
	// each second of it is a second more of life for every access token.
	ClockLeeway time.Duration

	// StoreTimeout bounds the store and key calls of one request: past it the
	// client gets 503 temporarily_unavailable. On Lambda the bound is also
	// kept well inside the function's own timeout. ROTOR_STORE_TIMEOUT.
	StoreTimeout time.Duration

	// StrictSessions makes the authorizer check that the token's session still
	// exists (one read per uncached authorization). ROTOR_STRICT_SESSIONS.
	StrictSessions bool
	// AuthorizerCacheTTL bounds how stale an authorizer decision may be,
	// wherever it is served from: a warm authorizer's own cache, or API
	// Gateway's cache of an answer that cache gave. The warm cache keeps a
	// decision for AuthorizerCacheTTL - GatewayCacheTTL, never past the
	// token's exp; 0 turns it off. ROTOR_AUTHORIZER_CACHE_TTL; template.yaml
	// sets it to API Gateway's own authorizer cache TTL.
	AuthorizerCacheTTL time.Duration
	// GatewayCacheTTL is how long API Gateway may keep an answer of the
	// authorizer (its authorizer result TTL, ReauthorizeEvery in the
	// template): the part of AuthorizerCacheTTL the warm cache must leave to
	// it. ROTOR_GATEWAY_CACHE_TTL; when unset it is AuthorizerCacheTTL, the
	// safe assumption (the warm cache then keeps nothing); 0 for gateways
	// that cache nothing (REQUEST authorizers without identity sources, HTTP
	// APIs with caching off).
	GatewayCacheTTL time.Duration
	// MFARoutes are the routes whose access tokens must carry "mfa" in amr
	// (step-up at the edge): the authorizer refuses a token without it there
	// with insufficient_user_authentication, and allows it everywhere else.
	// ROTOR_MFA_ROUTES, e.g. "POST /payments/*,DELETE /account"; none by
	// default.
	MFARoutes stepup.Routes

	// DPoP is how access and refresh tokens are bound to a client's key
	// (RFC 9449): DPoPOff, DPoPOptional or DPoPRequired (ROTOR_DPOP; off by
	// default). A token bound to a key is never accepted without a proof by
	// that key, whatever the mode: the mode decides whether sessions get
	// bound and whether unbound ones are still accepted.
	DPoP string
	// DPoPNonce makes server nonces (RFC 9449 §8) required in proofs
	// (ROTOR_DPOP_NONCE).
	DPoPNonce bool

	LoginMaxFailures int           // ROTOR_LOGIN_MAX_FAILURES: failures before throttling starts
	LoginBackoffBase time.Duration // ROTOR_LOGIN_BACKOFF_BASE: first lock, doubled per further failure
	LoginBackoffMax  time.Duration // ROTOR_LOGIN_BACKOFF_MAX: cap of the lock

	// The per-source-address limit on logins without a device token, across
	// usernames: more failures allowed than per username (a NAT hides many
	// users), then the same doubling lock.
	IPMaxFailures int           // ROTOR_IP_MAX_FAILURES: failures from one address before throttling starts
	IPBackoffBase time.Duration // ROTOR_IP_BACKOFF_BASE: first lock of an address, doubled per further failure
	IPBackoffMax  time.Duration // ROTOR_IP_BACKOFF_MAX: cap of an address's lock
	// An IPv6 address counts under its /64 (IPMaxFailures), its /56 and its
	// /48 at once, each with its own larger budget, the same locks: one /48
	// is 65,536 /64s. 0 means 4 and 16 times IPMaxFailures (see IPv6Budgets).
	IP56MaxFailures int // ROTOR_IP56_MAX_FAILURES
	IP48MaxFailures int // ROTOR_IP48_MAX_FAILURES
	// DeviceMaxFailures is the budget all of one username's device tokens
	// share (on top of each token's own LoginMaxFailures): whoever once
	// knew the password cannot collect tokens for fresh guesses. 0 means 4
	// times LoginMaxFailures (see DeviceBudget). ROTOR_DEVICE_MAX_FAILURES.
	DeviceMaxFailures int

	CORSAllowOrigin string // ROTOR_CORS_ALLOW_ORIGIN

	// RequireEmail makes "email" required at signup (ROTOR_REQUIRE_EMAIL).
	RequireEmail bool
	// MailLimitPerAddress is how many mails the signup, forgot, resend and
	// change routes queue to one address before its lock starts, whoever
	// asks; MailLimitPerIP the same per source address, across addresses.
	// Then the lock doubles from MailLimitBase up to MailLimitMax per
	// further mail, so a stranger cannot mail-bomb an address through Rotor.
	MailLimitPerAddress int           // ROTOR_MAIL_LIMIT_PER_ADDRESS
	MailLimitPerIP      int           // ROTOR_MAIL_LIMIT_PER_IP
	MailLimitBase       time.Duration // ROTOR_MAIL_LIMIT_BASE
	MailLimitMax        time.Duration // ROTOR_MAIL_LIMIT_MAX

	// Store is where state lives (ROTOR_STORE): "dynamodb", "postgres" or
	// "redis"; "memory" (the default) is the embedded store of the local
	// server, and means DynamoDB to a Lambda function.
	Store string
	// DatabaseURL is the PostgreSQL connection URL (ROTOR_DATABASE_URL),
	// postgres://user@host:5432/db?sslmode=verify-full; pgxpool settings such
	// as pool_max_conns and default_query_exec_mode may be added.
	DatabaseURL string
	// DatabaseSecretID names a Secrets Manager secret holding the database
	// user and password as JSON {"username","password"} (an RDS-managed
	// secret is one), which replace those of DatabaseURL
	// (ROTOR_DATABASE_SECRET_ID).
	DatabaseSecretID string
	// RedisURL is the Redis or Valkey URL (ROTOR_REDIS_URL):
	// redis://[user:password@]host:6379/0, or rediss:// for TLS.
	RedisURL string
	// RedisSecretID names a secret with the Redis user and password (JSON
	// as for DatabaseSecretID, or the password alone) (ROTOR_REDIS_SECRET_ID).
	RedisSecretID string
	// RedisCluster speaks the cluster protocol, as ElastiCache Serverless
	// needs (ROTOR_REDIS_CLUSTER).
	RedisCluster bool
	// RedisNamespace is the hash tag of every Rotor key (ROTOR_REDIS_NAMESPACE).
	RedisNamespace string

	// Mail (package mail; see mail.go for what each accepts).
	OutboxTable     string        // ROTOR_OUTBOX_TABLE: the DynamoDB outbox
	AppURL          string        // ROTOR_APP_URL: base of every link in a mail, never a request's Host
	ProductName     string        // ROTOR_PRODUCT_NAME: how mails name the service
	MailFrom        string        // ROTOR_MAIL_FROM: the sender address, "Name <addr>"
	MailTransport   string        // ROTOR_MAIL_TRANSPORT: ses, smtp or mailbox (the local server's)
	MailTemplates   string        // ROTOR_MAIL_TEMPLATES: a directory overriding the embedded templates
	SESIdentityARN  string        // ROTOR_SES_IDENTITY_ARN: the SES identity authorising MailFrom
	SMTPAddr        string        // ROTOR_SMTP_ADDR: host:port of the SMTP relay
	SMTPUsername    string        // ROTOR_SMTP_USERNAME
	SMTPPassword    string        // ROTOR_SMTP_PASSWORD
	SMTPSecretID    string        // ROTOR_SMTP_SECRET_ID: a secret with JSON {"username","password"}, read once per cold start; replaces the two above
	SMTPTLS         string        // ROTOR_SMTP_TLS: starttls (default), tls, or none on a loopback host
	MailMaxAttempts int           // ROTOR_MAIL_MAX_ATTEMPTS: attempts before a message is given up
	MailBackoffBase time.Duration // ROTOR_MAIL_BACKOFF_BASE: first retry delay, doubled per attempt
	MailBackoffMax  time.Duration // ROTOR_MAIL_BACKOFF_MAX: cap of the retry delay

	// Passkeys (package passkey/relyingparty).
	WebAuthnRPID string // ROTOR_WEBAUTHN_RP_ID: the domain passkeys are bound to (the Addr's host when empty)
	// WebAuthnOrigins are the web origins allowed to run the ceremonies
	// (ROTOR_WEBAUTHN_ORIGINS, comma-separated; AppURL's origin when empty).
	WebAuthnOrigins []string
	// PasskeyAllowCounterRegression lets a passkey whose signature counter
	// went backwards sign in anyway (ROTOR_PASSKEY_ALLOW_COUNTER_REGRESSION;
	// off: refused). The security event is logged either way.
	PasskeyAllowCounterRegression bool

	// Local server only.
	Addr string // ROTOR_ADDR
}

// Default returns the configuration used when no variable is set.
func Default() Config {
	return Config{
		UsersTable:          "rotor-users",
		SessionsTable:       "rotor-sessions",
		AttemptsTable:       "rotor-login-attempts",
		Issuer:              "http://127.0.0.1:3000",
		Audience:            "rotor-api",
		SigningAlg:          "ES256",
		AccessTokenTTL:      15 * time.Minute,
		RefreshTokenTTL:     14 * 24 * time.Hour,
		SessionMaxTTL:       90 * 24 * time.Hour,
		RefreshGrace:        10 * time.Second,
		MaxSessionsPerUser:  50,
		KeyCacheTTL:         5 * time.Minute,
		KeyActivationDelay:  15 * time.Minute,
		ClockLeeway:         5 * time.Second,
		StoreTimeout:        2 * time.Second,
		LoginMaxFailures:    5,
		LoginBackoffBase:    time.Second,
		LoginBackoffMax:     15 * time.Minute,
		IPMaxFailures:       20,
		IPBackoffBase:       time.Second,
		IPBackoffMax:        15 * time.Minute,
		CORSAllowOrigin:     "*",
		MailLimitPerAddress: 3,
		MailLimitPerIP:      20,
		MailLimitBase:       time.Minute,
		MailLimitMax:        time.Hour,
		Addr:                "127.0.0.1:3000",
		Store:               "memory",
		DPoP:                DPoPOff,
		RedisNamespace:      "rotor",
		OutboxTable:         "rotor-outbox",
		AppURL:              "http://127.0.0.1:3000",
		ProductName:         "Rotor",
		WebAuthnRPID:        "localhost",
		WebAuthnOrigins:     []string{"http://localhost:3000"},
		MailFrom:            "Rotor <no-reply@rotor.invalid>",
		MailTransport:       "mailbox",
		SMTPTLS:             "starttls",
		MailMaxAttempts:     8,
		MailBackoffBase:     30 * time.Second,
		MailBackoffMax:      time.Hour,
	}
}

// FromEnv reads the process environment.
func FromEnv() (Config, error) { return Load(os.LookupEnv) }

// Load reads settings through lookup (os.LookupEnv in production), starting
// from Default, and validates the result. All problems are reported together.
func Load(lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	r := reader{lookup: lookup}
	r.str("ROTOR_USERS_TABLE", &c.UsersTable)
	r.str("ROTOR_SESSIONS_TABLE", &c.SessionsTable)
	r.str("ROTOR_ATTEMPTS_TABLE", &c.AttemptsTable)
	r.str("ROTOR_SIGNING_SECRET_ID", &c.SigningSecretID)
	r.str("ROTOR_MAC_SECRET_ID", &c.MACSecretID)
	r.integer("ROTOR_MAX_SESSIONS_PER_USER", &c.MaxSessionsPerUser)
	r.str("ROTOR_ISSUER", &c.Issuer)
	r.str("ROTOR_AUDIENCE", &c.Audience)
	r.str("ROTOR_SIGNING_ALG", &c.SigningAlg)
	r.dur("ROTOR_ACCESS_TOKEN_TTL", &c.AccessTokenTTL)
	r.dur("ROTOR_REFRESH_TOKEN_TTL", &c.RefreshTokenTTL)
	r.dur("ROTOR_SESSION_MAX_TTL", &c.SessionMaxTTL)
	r.dur("ROTOR_REFRESH_GRACE", &c.RefreshGrace)
	r.dur("ROTOR_KEY_CACHE_TTL", &c.KeyCacheTTL)
	r.dur("ROTOR_KEY_ACTIVATION_DELAY", &c.KeyActivationDelay)
	r.dur("ROTOR_CLOCK_LEEWAY", &c.ClockLeeway)
	r.dur("ROTOR_STORE_TIMEOUT", &c.StoreTimeout)
	r.boolean("ROTOR_STRICT_SESSIONS", &c.StrictSessions)
	r.dur("ROTOR_AUTHORIZER_CACHE_TTL", &c.AuthorizerCacheTTL)
	c.GatewayCacheTTL = c.AuthorizerCacheTTL // unless set: the gateway may keep an answer as long
	r.dur("ROTOR_GATEWAY_CACHE_TTL", &c.GatewayCacheTTL)
	r.routes("ROTOR_MFA_ROUTES", &c.MFARoutes)
	r.dpop(&c)
	r.integer("ROTOR_LOGIN_MAX_FAILURES", &c.LoginMaxFailures)
	r.dur("ROTOR_LOGIN_BACKOFF_BASE", &c.LoginBackoffBase)
	r.dur("ROTOR_LOGIN_BACKOFF_MAX", &c.LoginBackoffMax)
	r.integer("ROTOR_IP_MAX_FAILURES", &c.IPMaxFailures)
	r.dur("ROTOR_IP_BACKOFF_BASE", &c.IPBackoffBase)
	r.dur("ROTOR_IP_BACKOFF_MAX", &c.IPBackoffMax)
	r.integer("ROTOR_IP56_MAX_FAILURES", &c.IP56MaxFailures)
	r.integer("ROTOR_IP48_MAX_FAILURES", &c.IP48MaxFailures)
	r.integer("ROTOR_DEVICE_MAX_FAILURES", &c.DeviceMaxFailures)
	r.str("ROTOR_CORS_ALLOW_ORIGIN", &c.CORSAllowOrigin)
	r.str("ROTOR_ADDR", &c.Addr)
	if _, ok := r.get("ROTOR_ISSUER"); !ok {
		c.Issuer = "http://" + c.Addr
	}
	r.boolean("ROTOR_REQUIRE_EMAIL", &c.RequireEmail)
	r.integer("ROTOR_MAIL_LIMIT_PER_ADDRESS", &c.MailLimitPerAddress)
	r.integer("ROTOR_MAIL_LIMIT_PER_IP", &c.MailLimitPerIP)
	r.dur("ROTOR_MAIL_LIMIT_BASE", &c.MailLimitBase)
	r.dur("ROTOR_MAIL_LIMIT_MAX", &c.MailLimitMax)
	r.str("ROTOR_STORE", &c.Store)
	r.str("ROTOR_DATABASE_URL", &c.DatabaseURL)
	r.str("ROTOR_DATABASE_SECRET_ID", &c.DatabaseSecretID)
	r.str("ROTOR_REDIS_URL", &c.RedisURL)
	r.str("ROTOR_REDIS_SECRET_ID", &c.RedisSecretID)
	r.boolean("ROTOR_REDIS_CLUSTER", &c.RedisCluster)
	r.str("ROTOR_REDIS_NAMESPACE", &c.RedisNamespace)
	r.mail(&c)
	r.webauthn(&c)
	if err := errors.Join(append(r.errs, c.Validate())...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// IPv6Budgets returns the failures an IPv6 /56 and /48 may make before
// their locks start: IP56MaxFailures and IP48MaxFailures, or 4 and 16 times
// IPMaxFailures when unset.
func (c Config) IPv6Budgets() (m56, m48 int) {
	m56, m48 = c.IP56MaxFailures, c.IP48MaxFailures
	if m56 <= 0 {
		m56 = 4 * c.IPMaxFailures
	}
	if m48 <= 0 {
		m48 = 16 * c.IPMaxFailures
	}
	return m56, m48
}

// DeviceBudget returns the failures all of one username's device tokens may
// make together: DeviceMaxFailures, or 4 times LoginMaxFailures when unset.
func (c Config) DeviceBudget() int {
	if c.DeviceMaxFailures > 0 {
		return c.DeviceMaxFailures
	}
	return 4 * c.LoginMaxFailures
}

// Validate reports every setting that is out of range.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	switch c.SigningAlg {
	case "ES256", "RS256", "EdDSA", "HS256":
	default:
		bad("ROTOR_SIGNING_ALG=%q: want ES256, RS256, EdDSA or HS256", c.SigningAlg)
	}
	if c.Audience == "" {
		bad("ROTOR_AUDIENCE must not be empty")
	}
	if err := checkIssuer(c.Issuer); err != nil {
		bad("ROTOR_ISSUER=%q: %v", c.Issuer, err)
	}
	if c.AccessTokenTTL < time.Second || c.AccessTokenTTL > 24*time.Hour {
		bad("ROTOR_ACCESS_TOKEN_TTL=%s: want between 1s and 24h", c.AccessTokenTTL)
	}
	if c.RefreshTokenTTL <= c.AccessTokenTTL {
		bad("ROTOR_REFRESH_TOKEN_TTL=%s must be longer than ROTOR_ACCESS_TOKEN_TTL=%s", c.RefreshTokenTTL, c.AccessTokenTTL)
	}
	if c.SessionMaxTTL < c.RefreshTokenTTL {
		bad("ROTOR_SESSION_MAX_TTL=%s must be at least ROTOR_REFRESH_TOKEN_TTL=%s", c.SessionMaxTTL, c.RefreshTokenTTL)
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > time.Minute {
		bad("ROTOR_REFRESH_GRACE=%s: want between 0 (off) and 1m", c.RefreshGrace)
	}
	if c.KeyCacheTTL < time.Second || c.KeyCacheTTL > time.Hour {
		bad("ROTOR_KEY_CACHE_TTL=%s: want between 1s and 1h", c.KeyCacheTTL)
	}
	if c.KeyActivationDelay < c.KeyCacheTTL || c.KeyActivationDelay > 24*time.Hour {
		bad("ROTOR_KEY_ACTIVATION_DELAY=%s: want between ROTOR_KEY_CACHE_TTL=%s and 24h, so that every verifier holds a new key before it signs", c.KeyActivationDelay, c.KeyCacheTTL)
	}
	if c.AuthorizerCacheTTL < 0 || c.AuthorizerCacheTTL > time.Hour {
		bad("ROTOR_AUTHORIZER_CACHE_TTL=%s: want between 0 (off) and 1h", c.AuthorizerCacheTTL)
	}
	if c.GatewayCacheTTL < 0 || c.GatewayCacheTTL > time.Hour {
		bad("ROTOR_GATEWAY_CACHE_TTL=%s: want between 0 (API Gateway caches nothing) and 1h", c.GatewayCacheTTL)
	}
	if c.ClockLeeway < 0 || c.ClockLeeway > 5*time.Minute {
		bad("ROTOR_CLOCK_LEEWAY=%s: want between 0 and 5m", c.ClockLeeway)
	}
	if c.MaxSessionsPerUser < 1 || c.MaxSessionsPerUser > 90 {
		// 90 keeps a login's transaction (session, owner, evictions) and the
		// session list's one BatchGetItem within DynamoDB's limits.
		bad("ROTOR_MAX_SESSIONS_PER_USER=%d: want between 1 and 90", c.MaxSessionsPerUser)
	}
	if c.StoreTimeout < 100*time.Millisecond || c.StoreTimeout > time.Minute {
		bad("ROTOR_STORE_TIMEOUT=%s: want between 100ms and 1m", c.StoreTimeout)
	}
	if c.LoginMaxFailures < 1 {
		bad("ROTOR_LOGIN_MAX_FAILURES=%d: want at least 1", c.LoginMaxFailures)
	}
	if c.LoginBackoffBase <= 0 || c.LoginBackoffMax < c.LoginBackoffBase {
		bad("ROTOR_LOGIN_BACKOFF_BASE=%s and ROTOR_LOGIN_BACKOFF_MAX=%s: want 0 < base <= max", c.LoginBackoffBase, c.LoginBackoffMax)
	}
	if c.IPMaxFailures < c.LoginMaxFailures {
		bad("ROTOR_IP_MAX_FAILURES=%d: want at least ROTOR_LOGIN_MAX_FAILURES=%d", c.IPMaxFailures, c.LoginMaxFailures)
	}
	if m56, m48 := c.IPv6Budgets(); m56 < c.IPMaxFailures || m48 < m56 {
		bad("ROTOR_IP56_MAX_FAILURES=%d and ROTOR_IP48_MAX_FAILURES=%d: want ROTOR_IP_MAX_FAILURES <= /56 <= /48", m56, m48)
	}
	if c.DeviceBudget() < c.LoginMaxFailures {
		bad("ROTOR_DEVICE_MAX_FAILURES=%d: want at least ROTOR_LOGIN_MAX_FAILURES=%d", c.DeviceBudget(), c.LoginMaxFailures)
	}
	if c.IPBackoffBase <= 0 || c.IPBackoffMax < c.IPBackoffBase {
		bad("ROTOR_IP_BACKOFF_BASE=%s and ROTOR_IP_BACKOFF_MAX=%s: want 0 < base <= max", c.IPBackoffBase, c.IPBackoffMax)
	}
	if c.MailLimitPerAddress < 1 || c.MailLimitPerIP < c.MailLimitPerAddress {
		bad("ROTOR_MAIL_LIMIT_PER_ADDRESS=%d and ROTOR_MAIL_LIMIT_PER_IP=%d: want 1 <= per address <= per source address", c.MailLimitPerAddress, c.MailLimitPerIP)
	}
	if c.MailLimitBase <= 0 || c.MailLimitMax < c.MailLimitBase {
		bad("ROTOR_MAIL_LIMIT_BASE=%s and ROTOR_MAIL_LIMIT_MAX=%s: want 0 < base <= max", c.MailLimitBase, c.MailLimitMax)
	}
	switch c.Store {
	case "memory", "dynamodb":
	case "postgres":
		if c.DatabaseURL == "" {
			bad("ROTOR_STORE=postgres needs ROTOR_DATABASE_URL")
		}
	case "redis":
		if c.RedisURL == "" {
			bad("ROTOR_STORE=redis needs ROTOR_REDIS_URL")
		}
		if c.RedisNamespace == "" || strings.ContainsAny(c.RedisNamespace, "{}") {
			bad("ROTOR_REDIS_NAMESPACE=%q: want a name without braces", c.RedisNamespace)
		}
	default:
		bad("ROTOR_STORE=%q: want memory, dynamodb, postgres or redis", c.Store)
	}
	errs = append(errs, c.validateMail()...)
	errs = append(errs, c.validateWebAuthn()...)
	errs = append(errs, c.validateDPoP()...)
	return errors.Join(errs...)
}

type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) get(name string) (string, bool) {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (r *reader) str(name string, dst *string) {
	if v, ok := r.get(name); ok {
		*dst = v
	}
}

func (r *reader) dur(name string, dst *time.Duration) {
	if v, ok := r.get(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("config: %s=%q is not a Go duration such as 15m or 336h", name, v))
			return
		}
		*dst = d
	}
}

func (r *reader) boolean(name string, dst *bool) {
	if v, ok := r.get(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("config: %s=%q is not true or false", name, v))
			return
		}
		*dst = b
	}
}

func (r *reader) routes(name string, dst *stepup.Routes) {
	if v, ok := r.get(name); ok {
		rs, err := stepup.Parse(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("config: %s: %w", name, err))
			return
		}
		*dst = rs
	}
}

func (r *reader) integer(name string, dst *int) {
	if v, ok := r.get(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("config: %s=%q is not a whole number", name, v))
			return
		}
		*dst = n
	}
}
