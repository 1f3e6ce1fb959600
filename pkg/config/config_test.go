package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatalf("Load with no variables: %v", err)
	}
	if !reflect.DeepEqual(c, config.Default()) {
		t.Errorf("Load() = %+v; want Default() %+v", c, config.Default())
	}
	if err := config.Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	// The defaults the design promises.
	want := []struct {
		name      string
		got, want any
	}{
		{"SigningAlg", c.SigningAlg, "ES256"},
		{"AccessTokenTTL", c.AccessTokenTTL, 15 * time.Minute},
		{"RefreshTokenTTL", c.RefreshTokenTTL, 14 * 24 * time.Hour},
		{"SessionMaxTTL", c.SessionMaxTTL, 90 * 24 * time.Hour},
		{"RefreshGrace", c.RefreshGrace, 10 * time.Second},
		{"ClockLeeway", c.ClockLeeway, 5 * time.Second},
		{"CORSAllowOrigin", c.CORSAllowOrigin, "*"},
		{"KeyActivationDelay", c.KeyActivationDelay, 15 * time.Minute},
		{"StrictSessions", c.StrictSessions, false},
		{"StoreTimeout", c.StoreTimeout, 2 * time.Second},
		{"Addr", c.Addr, "127.0.0.1:3000"},
		{"Store", c.Store, "memory"},
		{"LoginMaxFailures", c.LoginMaxFailures, 5},
		{"IPMaxFailures", c.IPMaxFailures, 20},
	}
	for _, w := range want {
		if w.got != w.want {
			t.Errorf("default %s = %v; want %v", w.name, w.got, w.want)
		}
	}
	// Empty or blank values mean "not set".
	blank, err := config.Load(env(map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "", "ROTOR_ISSUER": "   ", "ROTOR_STRICT_SESSIONS": "\t"}))
	if err != nil || !reflect.DeepEqual(blank, config.Default()) {
		t.Errorf("Load with blank values = %+v, %v; want the defaults", blank, err)
	}
}

func TestEveryVariable(t *testing.T) {
	tests := []struct {
		name, value string
		get         func(config.Config) any
		want        any
	}{
		{"ROTOR_USERS_TABLE", "u", func(c config.Config) any { return c.UsersTable }, "u"},
		{"ROTOR_SESSIONS_TABLE", "s", func(c config.Config) any { return c.SessionsTable }, "s"},
		{"ROTOR_ATTEMPTS_TABLE", "a", func(c config.Config) any { return c.AttemptsTable }, "a"},
		{"ROTOR_SIGNING_SECRET_ID", "arn:aws:secretsmanager:us-east-1:1:secret:k", func(c config.Config) any { return c.SigningSecretID }, "arn:aws:secretsmanager:us-east-1:1:secret:k"},
		{"ROTOR_MAC_SECRET_ID", "arn:aws:secretsmanager:us-east-1:1:secret:m", func(c config.Config) any { return c.MACSecretID }, "arn:aws:secretsmanager:us-east-1:1:secret:m"},
		{"ROTOR_MAX_SESSIONS_PER_USER", "20", func(c config.Config) any { return c.MaxSessionsPerUser }, 20},
		{"ROTOR_ISSUER", "https://auth.example.com", func(c config.Config) any { return c.Issuer }, "https://auth.example.com"},
		{"ROTOR_AUDIENCE", "example-api", func(c config.Config) any { return c.Audience }, "example-api"},
		{"ROTOR_SIGNING_ALG", "EdDSA", func(c config.Config) any { return c.SigningAlg }, "EdDSA"},
		{"ROTOR_ACCESS_TOKEN_TTL", "5m", func(c config.Config) any { return c.AccessTokenTTL }, 5 * time.Minute},
		{"ROTOR_REFRESH_TOKEN_TTL", "720h", func(c config.Config) any { return c.RefreshTokenTTL }, 720 * time.Hour},
		{"ROTOR_SESSION_MAX_TTL", "4320h", func(c config.Config) any { return c.SessionMaxTTL }, 4320 * time.Hour},
		{"ROTOR_REFRESH_GRACE", "0s", func(c config.Config) any { return c.RefreshGrace }, time.Duration(0)},
		{"ROTOR_KEY_CACHE_TTL", "1m", func(c config.Config) any { return c.KeyCacheTTL }, time.Minute},
		{"ROTOR_KEY_ACTIVATION_DELAY", "20m", func(c config.Config) any { return c.KeyActivationDelay }, 20 * time.Minute},
		{"ROTOR_CLOCK_LEEWAY", "2s", func(c config.Config) any { return c.ClockLeeway }, 2 * time.Second},
		{"ROTOR_STORE_TIMEOUT", "500ms", func(c config.Config) any { return c.StoreTimeout }, 500 * time.Millisecond},
		{"ROTOR_STRICT_SESSIONS", "true", func(c config.Config) any { return c.StrictSessions }, true},
		{"ROTOR_AUTHORIZER_CACHE_TTL", "5m", func(c config.Config) any { return c.AuthorizerCacheTTL }, 5 * time.Minute},
		{"ROTOR_GATEWAY_CACHE_TTL", "30s", func(c config.Config) any { return c.GatewayCacheTTL }, 30 * time.Second},
		{"ROTOR_MFA_ROUTES", "POST /payments/*, DELETE /account", func(c config.Config) any { return c.MFARoutes.String() }, "POST /payments/*,DELETE /account"},
		{"ROTOR_LOGIN_MAX_FAILURES", "3", func(c config.Config) any { return c.LoginMaxFailures }, 3},
		{"ROTOR_LOGIN_BACKOFF_BASE", "2s", func(c config.Config) any { return c.LoginBackoffBase }, 2 * time.Second},
		{"ROTOR_LOGIN_BACKOFF_MAX", "1h", func(c config.Config) any { return c.LoginBackoffMax }, time.Hour},
		{"ROTOR_IP_MAX_FAILURES", "50", func(c config.Config) any { return c.IPMaxFailures }, 50},
		{"ROTOR_IP_BACKOFF_BASE", "3s", func(c config.Config) any { return c.IPBackoffBase }, 3 * time.Second},
		{"ROTOR_IP_BACKOFF_MAX", "2h", func(c config.Config) any { return c.IPBackoffMax }, 2 * time.Hour},
		{"ROTOR_IP56_MAX_FAILURES", "300", func(c config.Config) any { return c.IP56MaxFailures }, 300},
		{"ROTOR_IP48_MAX_FAILURES", "1000", func(c config.Config) any { return c.IP48MaxFailures }, 1000},
		{"ROTOR_DEVICE_MAX_FAILURES", "30", func(c config.Config) any { return c.DeviceMaxFailures }, 30},
		{"ROTOR_CORS_ALLOW_ORIGIN", "https://app.example.com", func(c config.Config) any { return c.CORSAllowOrigin }, "https://app.example.com"},
		{"ROTOR_REQUIRE_EMAIL", "true", func(c config.Config) any { return c.RequireEmail }, true},
		{"ROTOR_MAIL_LIMIT_PER_ADDRESS", "2", func(c config.Config) any { return c.MailLimitPerAddress }, 2},
		{"ROTOR_MAIL_LIMIT_PER_IP", "40", func(c config.Config) any { return c.MailLimitPerIP }, 40},
		{"ROTOR_MAIL_LIMIT_BASE", "2m", func(c config.Config) any { return c.MailLimitBase }, 2 * time.Minute},
		{"ROTOR_MAIL_LIMIT_MAX", "3h", func(c config.Config) any { return c.MailLimitMax }, 3 * time.Hour},
		{"ROTOR_ADDR", "127.0.0.1:8080", func(c config.Config) any { return c.Addr }, "127.0.0.1:8080"},
		{"ROTOR_STORE", "dynamodb", func(c config.Config) any { return c.Store }, "dynamodb"},
		{"ROTOR_DATABASE_URL", "postgres://rotor@db:5432/rotor", func(c config.Config) any { return c.DatabaseURL }, "postgres://rotor@db:5432/rotor"},
		{"ROTOR_DATABASE_SECRET_ID", "rds!db-1", func(c config.Config) any { return c.DatabaseSecretID }, "rds!db-1"},
		{"ROTOR_REDIS_URL", "rediss://cache:6379", func(c config.Config) any { return c.RedisURL }, "rediss://cache:6379"},
		{"ROTOR_REDIS_SECRET_ID", "rotor/redis", func(c config.Config) any { return c.RedisSecretID }, "rotor/redis"},
		{"ROTOR_REDIS_CLUSTER", "true", func(c config.Config) any { return c.RedisCluster }, true},
		{"ROTOR_REDIS_NAMESPACE", "prod", func(c config.Config) any { return c.RedisNamespace }, "prod"},
		{"ROTOR_OUTBOX_TABLE", "o", func(c config.Config) any { return c.OutboxTable }, "o"},
		{"ROTOR_APP_URL", "https://app.example.com/account", func(c config.Config) any { return c.AppURL }, "https://app.example.com/account"},
		{"ROTOR_PRODUCT_NAME", "Example", func(c config.Config) any { return c.ProductName }, "Example"},
		{"ROTOR_MAIL_FROM", "Example <no-reply@example.com>", func(c config.Config) any { return c.MailFrom }, "Example <no-reply@example.com>"},
		{"ROTOR_MAIL_TRANSPORT", "ses", func(c config.Config) any { return c.MailTransport }, "ses"},
		{"ROTOR_MAIL_TEMPLATES", "/opt/templates", func(c config.Config) any { return c.MailTemplates }, "/opt/templates"},
		{"ROTOR_SES_IDENTITY_ARN", "arn:aws:ses:us-east-1:1:identity/example.com", func(c config.Config) any { return c.SESIdentityARN }, "arn:aws:ses:us-east-1:1:identity/example.com"},
		{"ROTOR_SMTP_ADDR", "smtp.example.com:587", func(c config.Config) any { return c.SMTPAddr }, "smtp.example.com:587"},
		{"ROTOR_SMTP_USERNAME", "mailer", func(c config.Config) any { return c.SMTPUsername }, "mailer"},
		{"ROTOR_SMTP_PASSWORD", "pw", func(c config.Config) any { return c.SMTPPassword }, "pw"},
		{"ROTOR_SMTP_TLS", "tls", func(c config.Config) any { return c.SMTPTLS }, "tls"},
		{"ROTOR_SMTP_SECRET_ID", "rotor/smtp", func(c config.Config) any { return c.SMTPSecretID }, "rotor/smtp"},
		{"ROTOR_MAIL_MAX_ATTEMPTS", "5", func(c config.Config) any { return c.MailMaxAttempts }, 5},
		{"ROTOR_MAIL_BACKOFF_BASE", "10s", func(c config.Config) any { return c.MailBackoffBase }, 10 * time.Second},
		{"ROTOR_MAIL_BACKOFF_MAX", "2h", func(c config.Config) any { return c.MailBackoffMax }, 2 * time.Hour},
		{"ROTOR_WEBAUTHN_RP_ID", "example.com", func(c config.Config) any { return c.WebAuthnRPID }, "example.com"},
		{"ROTOR_WEBAUTHN_ORIGINS", "https://app.example.com, https://example.com", func(c config.Config) any { return strings.Join(c.WebAuthnOrigins, " ") }, "https://app.example.com https://example.com"},
		{"ROTOR_PASSKEY_ALLOW_COUNTER_REGRESSION", "true", func(c config.Config) any { return c.PasskeyAllowCounterRegression }, true},
		{"ROTOR_DPOP", "optional", func(c config.Config) any { return c.DPoP }, "optional"},
		{"ROTOR_DPOP_NONCE", "true", func(c config.Config) any { return c.DPoPNonce }, true},
	}
	all := map[string]string{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(map[string]string{tc.name: "  " + tc.value + " "}))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := tc.get(c); got != tc.want {
				t.Errorf("%s=%q gives %v; want %v", tc.name, tc.value, got, tc.want)
			}
		})
		all[tc.name] = tc.value
	}
	t.Run("all at once", func(t *testing.T) {
		c, err := config.Load(env(all))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		for _, tc := range tests {
			if got := tc.get(c); got != tc.want {
				t.Errorf("%s gives %v; want %v", tc.name, got, tc.want)
			}
		}
	})
	// Every field of Config is covered by a variable above.
	if n := reflect.TypeFor[config.Config]().NumField(); n != len(tests) {
		t.Errorf("Config has %d fields and the test covers %d variables", n, len(tests))
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("ROTOR_ACCESS_TOKEN_TTL", "2m")
	t.Setenv("ROTOR_STRICT_SESSIONS", "1")
	c, err := config.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessTokenTTL != 2*time.Minute || !c.StrictSessions {
		t.Errorf("FromEnv = %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want []string // each must appear in the error
	}{
		{"bad duration", map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "15"}, []string{"ROTOR_ACCESS_TOKEN_TTL"}},
		{"bad duration unit", map[string]string{"ROTOR_REFRESH_TOKEN_TTL": "14d"}, []string{"ROTOR_REFRESH_TOKEN_TTL"}},
		{"bad bool", map[string]string{"ROTOR_STRICT_SESSIONS": "yes"}, []string{"ROTOR_STRICT_SESSIONS"}},
		{"unknown DPoP mode", map[string]string{"ROTOR_DPOP": "on"}, []string{"ROTOR_DPOP"}},
		{"DPoP mode in upper case", map[string]string{"ROTOR_DPOP": "Required"}, []string{"ROTOR_DPOP"}},
		{"bad int", map[string]string{"ROTOR_LOGIN_MAX_FAILURES": "five"}, []string{"ROTOR_LOGIN_MAX_FAILURES"}},
		{"unknown alg", map[string]string{"ROTOR_SIGNING_ALG": "none"}, []string{"ROTOR_SIGNING_ALG"}},
		{"alg in lower case", map[string]string{"ROTOR_SIGNING_ALG": "hs256"}, []string{"ROTOR_SIGNING_ALG"}},
		{"access TTL under 1s", map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "500ms"}, []string{"ROTOR_ACCESS_TOKEN_TTL"}},
		{"access TTL over 24h", map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "25h", "ROTOR_REFRESH_TOKEN_TTL": "48h"}, []string{"ROTOR_ACCESS_TOKEN_TTL"}},
		{"negative access TTL", map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "-1m"}, []string{"ROTOR_ACCESS_TOKEN_TTL"}},
		{"refresh not longer than access", map[string]string{"ROTOR_ACCESS_TOKEN_TTL": "1h", "ROTOR_REFRESH_TOKEN_TTL": "1h"}, []string{"ROTOR_REFRESH_TOKEN_TTL"}},
		{"session shorter than refresh", map[string]string{"ROTOR_SESSION_MAX_TTL": "24h"}, []string{"ROTOR_SESSION_MAX_TTL"}},
		{"negative grace", map[string]string{"ROTOR_REFRESH_GRACE": "-1s"}, []string{"ROTOR_REFRESH_GRACE"}},
		{"grace over 1m", map[string]string{"ROTOR_REFRESH_GRACE": "2m"}, []string{"ROTOR_REFRESH_GRACE"}},
		{"key cache under 1s", map[string]string{"ROTOR_KEY_CACHE_TTL": "0s"}, []string{"ROTOR_KEY_CACHE_TTL"}},
		{"key cache over 1h", map[string]string{"ROTOR_KEY_CACHE_TTL": "2h"}, []string{"ROTOR_KEY_CACHE_TTL"}},
		{"activation delay under the key cache TTL", map[string]string{"ROTOR_KEY_ACTIVATION_DELAY": "4m"}, []string{"ROTOR_KEY_ACTIVATION_DELAY"}},
		{"key cache TTL raised over the activation delay", map[string]string{"ROTOR_KEY_CACHE_TTL": "30m"}, []string{"ROTOR_KEY_ACTIVATION_DELAY"}},
		{"zero activation delay", map[string]string{"ROTOR_KEY_ACTIVATION_DELAY": "0s"}, []string{"ROTOR_KEY_ACTIVATION_DELAY"}},
		{"activation delay over 24h", map[string]string{"ROTOR_KEY_ACTIVATION_DELAY": "25h"}, []string{"ROTOR_KEY_ACTIVATION_DELAY"}},
		{"negative leeway", map[string]string{"ROTOR_CLOCK_LEEWAY": "-1s"}, []string{"ROTOR_CLOCK_LEEWAY"}},
		{"leeway over 5m", map[string]string{"ROTOR_CLOCK_LEEWAY": "6m"}, []string{"ROTOR_CLOCK_LEEWAY"}},
		{"store timeout zero", map[string]string{"ROTOR_STORE_TIMEOUT": "0s"}, []string{"ROTOR_STORE_TIMEOUT"}},
		{"store timeout over 1m", map[string]string{"ROTOR_STORE_TIMEOUT": "2m"}, []string{"ROTOR_STORE_TIMEOUT"}},
		{"MFA route without a method", map[string]string{"ROTOR_MFA_ROUTES": "/payments/*"}, []string{"ROTOR_MFA_ROUTES"}},
		{"MFA route with a ?", map[string]string{"ROTOR_MFA_ROUTES": "POST /pay?ents"}, []string{"ROTOR_MFA_ROUTES"}},
		{"negative authorizer cache", map[string]string{"ROTOR_AUTHORIZER_CACHE_TTL": "-1s"}, []string{"ROTOR_AUTHORIZER_CACHE_TTL"}},
		{"authorizer cache over 1h", map[string]string{"ROTOR_AUTHORIZER_CACHE_TTL": "2h"}, []string{"ROTOR_AUTHORIZER_CACHE_TTL"}},
		{"negative gateway cache", map[string]string{"ROTOR_GATEWAY_CACHE_TTL": "-1s"}, []string{"ROTOR_GATEWAY_CACHE_TTL"}},
		{"gateway cache over 1h", map[string]string{"ROTOR_GATEWAY_CACHE_TTL": "2h"}, []string{"ROTOR_GATEWAY_CACHE_TTL"}},
		{"zero max failures", map[string]string{"ROTOR_LOGIN_MAX_FAILURES": "0"}, []string{"ROTOR_LOGIN_MAX_FAILURES"}},
		{"negative max failures", map[string]string{"ROTOR_LOGIN_MAX_FAILURES": "-3"}, []string{"ROTOR_LOGIN_MAX_FAILURES"}},
		{"zero backoff base", map[string]string{"ROTOR_LOGIN_BACKOFF_BASE": "0s"}, []string{"ROTOR_LOGIN_BACKOFF_BASE"}},
		{"backoff max under base", map[string]string{"ROTOR_LOGIN_BACKOFF_BASE": "1m", "ROTOR_LOGIN_BACKOFF_MAX": "30s"}, []string{"ROTOR_LOGIN_BACKOFF_MAX"}},
		{"IP limit below the username limit", map[string]string{"ROTOR_IP_MAX_FAILURES": "4"}, []string{"ROTOR_IP_MAX_FAILURES"}},
		{"IPv6 /56 limit below the /64 limit", map[string]string{"ROTOR_IP56_MAX_FAILURES": "19"}, []string{"ROTOR_IP56_MAX_FAILURES"}},
		{"IPv6 /48 limit below the /56 limit", map[string]string{"ROTOR_IP56_MAX_FAILURES": "100", "ROTOR_IP48_MAX_FAILURES": "99"}, []string{"ROTOR_IP48_MAX_FAILURES"}},
		{"device budget below the username limit", map[string]string{"ROTOR_DEVICE_MAX_FAILURES": "4"}, []string{"ROTOR_DEVICE_MAX_FAILURES"}},
		{"zero IP backoff base", map[string]string{"ROTOR_IP_BACKOFF_BASE": "0s"}, []string{"ROTOR_IP_BACKOFF_BASE"}},
		{"IP backoff max under base", map[string]string{"ROTOR_IP_BACKOFF_BASE": "1m", "ROTOR_IP_BACKOFF_MAX": "30s"}, []string{"ROTOR_IP_BACKOFF_MAX"}},
		{"no mail per address", map[string]string{"ROTOR_MAIL_LIMIT_PER_ADDRESS": "0"}, []string{"ROTOR_MAIL_LIMIT_PER_ADDRESS"}},
		{"mail per source address below per address", map[string]string{"ROTOR_MAIL_LIMIT_PER_IP": "2"}, []string{"ROTOR_MAIL_LIMIT_PER_IP"}},
		{"mail limit max under base", map[string]string{"ROTOR_MAIL_LIMIT_BASE": "1h", "ROTOR_MAIL_LIMIT_MAX": "1m"}, []string{"ROTOR_MAIL_LIMIT_MAX"}},
		{"unknown store", map[string]string{"ROTOR_STORE": "sqlite"}, []string{"ROTOR_STORE"}},
		{"postgres without a URL", map[string]string{"ROTOR_STORE": "postgres"}, []string{"ROTOR_DATABASE_URL"}},
		{"redis without a URL", map[string]string{"ROTOR_STORE": "redis"}, []string{"ROTOR_REDIS_URL"}},
		{"redis namespace with a brace", map[string]string{"ROTOR_STORE": "redis", "ROTOR_REDIS_URL": "redis://x", "ROTOR_REDIS_NAMESPACE": "a}b"}, []string{"ROTOR_REDIS_NAMESPACE"}},
		{"app URL in plain http off loopback", map[string]string{"ROTOR_APP_URL": "http://app.example.com"}, []string{"ROTOR_APP_URL"}},
		{"app URL with a fragment", map[string]string{"ROTOR_APP_URL": "https://app.example.com/#x"}, []string{"ROTOR_APP_URL"}},
		{"app URL relative", map[string]string{"ROTOR_APP_URL": "/reset"}, []string{"ROTOR_APP_URL"}},
		{"sender with a header injected", map[string]string{"ROTOR_MAIL_FROM": "a@example.com\r\nBcc: b@example.com"}, []string{"ROTOR_MAIL_FROM"}},
		{"sender not an address", map[string]string{"ROTOR_MAIL_FROM": "nobody"}, []string{"ROTOR_MAIL_FROM"}},
		{"unknown transport", map[string]string{"ROTOR_MAIL_TRANSPORT": "sendmail"}, []string{"ROTOR_MAIL_TRANSPORT"}},
		{"smtp without an address", map[string]string{"ROTOR_MAIL_TRANSPORT": "smtp"}, []string{"ROTOR_SMTP_ADDR"}},
		{"smtp in the clear off loopback", map[string]string{"ROTOR_MAIL_TRANSPORT": "smtp", "ROTOR_SMTP_ADDR": "smtp.example.com:25", "ROTOR_SMTP_TLS": "none"}, []string{"ROTOR_SMTP_TLS"}},
		{"smtp secret beside a password", map[string]string{"ROTOR_MAIL_TRANSPORT": "smtp", "ROTOR_SMTP_ADDR": "smtp.example.com:587", "ROTOR_SMTP_SECRET_ID": "rotor/smtp", "ROTOR_SMTP_PASSWORD": "pw"}, []string{"ROTOR_SMTP_SECRET_ID"}},
		{"zero mail attempts", map[string]string{"ROTOR_MAIL_MAX_ATTEMPTS": "0"}, []string{"ROTOR_MAIL_MAX_ATTEMPTS"}},
		{"mail backoff max under base", map[string]string{"ROTOR_MAIL_BACKOFF_BASE": "1m", "ROTOR_MAIL_BACKOFF_MAX": "30s"}, []string{"ROTOR_MAIL_BACKOFF_BASE"}},
		{"every problem reported together", map[string]string{
			"ROTOR_ACCESS_TOKEN_TTL":   "fifteen minutes",
			"ROTOR_STRICT_SESSIONS":    "maybe",
			"ROTOR_LOGIN_MAX_FAILURES": "1e3",
			"ROTOR_SIGNING_ALG":        "RS512",
			"ROTOR_STORE":              "sqlite",
			"ROTOR_CLOCK_LEEWAY":       "1h",
		}, []string{"ROTOR_ACCESS_TOKEN_TTL", "ROTOR_STRICT_SESSIONS", "ROTOR_LOGIN_MAX_FAILURES", "ROTOR_SIGNING_ALG", "ROTOR_STORE", "ROTOR_CLOCK_LEEWAY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(tc.vars))
			if err == nil {
				t.Fatalf("Load(%v) = %+v; want an error", tc.vars, c)
			}
			if !reflect.DeepEqual(c, config.Config{}) {
				t.Errorf("Load returned a config with its error: %+v", c)
			}
			for _, name := range tc.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
			if len(tc.want) > 1 {
				if n := len(leaves(err)); n != len(tc.want) {
					t.Errorf("error %q joins %d errors; want one per problem (%d)", err, n, len(tc.want))
				}
			}
		})
	}
}

// leaves flattens errors.Join trees.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

func TestIssuer(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string // "" when Load must fail
	}{
		{"default is the local server's URL", nil, "http://127.0.0.1:3000"},
		{"follows ROTOR_ADDR", map[string]string{"ROTOR_ADDR": "127.0.0.1:8080"}, "http://127.0.0.1:8080"},
		{"https", map[string]string{"ROTOR_ISSUER": "https://auth.example.com"}, "https://auth.example.com"},
		{"https with a stage path", map[string]string{"ROTOR_ISSUER": "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/v1"}, "https://abcdefghij.execute-api.eu-west-1.amazonaws.com/v1"},
		{"the API id placeholder", map[string]string{"ROTOR_ISSUER": "https://{api_id}.execute-api.eu-west-1.amazonaws.com/v1"}, "https://{api_id}.execute-api.eu-west-1.amazonaws.com/v1"},
		{"http on localhost", map[string]string{"ROTOR_ISSUER": "http://localhost:3000"}, "http://localhost:3000"},
		{"not a URL", map[string]string{"ROTOR_ISSUER": "rotor"}, ""},
		{"a URN", map[string]string{"ROTOR_ISSUER": "urn:rotor:prod"}, ""},
		{"http on a public host", map[string]string{"ROTOR_ISSUER": "http://auth.example.com"}, ""},
		{"a trailing slash", map[string]string{"ROTOR_ISSUER": "https://auth.example.com/"}, ""},
		{"a query", map[string]string{"ROTOR_ISSUER": "https://auth.example.com/?a=b"}, ""},
		{"a fragment", map[string]string{"ROTOR_ISSUER": "https://auth.example.com#x"}, ""},
		{"user info", map[string]string{"ROTOR_ISSUER": "https://u:p@auth.example.com"}, ""},
		{"placeholder outside the host", map[string]string{"ROTOR_ISSUER": "https://auth.example.com/{api_id}"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Load(env(tc.vars))
			if tc.want == "" {
				if err == nil || !strings.Contains(err.Error(), "ROTOR_ISSUER") {
					t.Fatalf("Load = %q, %v; want an error naming ROTOR_ISSUER", c.Issuer, err)
				}
				return
			}
			if err != nil || c.Issuer != tc.want {
				t.Fatalf("Load = %q, %v; want %q", c.Issuer, err, tc.want)
			}
		})
	}
}

func TestResolveIssuer(t *testing.T) {
	c := config.Default()
	c.Issuer = "https://{api_id}.execute-api.eu-west-1.amazonaws.com/v1"
	if !c.IssuerDeferred() {
		t.Fatal("IssuerDeferred = false")
	}
	tests := []struct {
		id, want string
	}{
		{"abcdef1234", "https://abcdef1234.execute-api.eu-west-1.amazonaws.com/v1"},
		{"", ""},
		{"ABCDEF1234", ""},
		{"abc.evil.example/x", ""},
		{"abcdef12345", ""},
	}
	for _, tc := range tests {
		got, err := c.ResolveIssuer(tc.id)
		if tc.want == "" {
			if !errors.Is(err, config.ErrIssuer) {
				t.Errorf("ResolveIssuer(%q) = %q, %v; want ErrIssuer", tc.id, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ResolveIssuer(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
	fixed := config.Default()
	if got, err := fixed.ResolveIssuer("anything"); err != nil || got != fixed.Issuer || fixed.IssuerDeferred() {
		t.Errorf("a whole issuer resolves to itself: %q, %v", got, err)
	}
}

// TestWebAuthnSettings: the relying party accepts domains and web origins
// only, and the local default follows ROTOR_ADDR's port.
func TestWebAuthnSettings(t *testing.T) {
	c, err := config.Load(env(map[string]string{"ROTOR_ADDR": "127.0.0.1:4000"}))
	if err != nil || c.WebAuthnRPID != "localhost" || strings.Join(c.WebAuthnOrigins, ",") != "http://localhost:4000" {
		t.Fatalf("defaults: %q %q %v", c.WebAuthnRPID, c.WebAuthnOrigins, err)
	}
	for _, tc := range []map[string]string{
		{"ROTOR_WEBAUTHN_RP_ID": "https://example.com"},
		{"ROTOR_WEBAUTHN_RP_ID": "example.com:443"},
		{"ROTOR_WEBAUTHN_RP_ID": "192.0.2.1"},
		{"ROTOR_WEBAUTHN_ORIGINS": "http://app.example.com"},
		{"ROTOR_WEBAUTHN_ORIGINS": "https://app.example.com/login"},
		{"ROTOR_WEBAUTHN_ORIGINS": "app.example.com"},
	} {
		if _, err := config.Load(env(tc)); err == nil {
			t.Errorf("%v accepted", tc)
		}
	}
}
