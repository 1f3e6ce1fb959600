package app_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/internal/testenv"
)

const mod = "github.com/rotor-auth/rotor/"

// Packages no Lambda function may link: the local server's parts.
var localOnly = []string{mod + "pkg/store/memory", mod + "web", mod + "pkg/devserver"}

// sdkConfig is the SDK's default configuration chain (shared files, SSO, STS,
// IMDS): functions use app.LambdaAWS instead.
var sdkConfig = []string{"github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/service/sts", "github.com/aws/aws-sdk-go-v2/service/sso"}

// Passwords, typed usernames and the HTTP API: what only the API functions need.
var apiOnly = []string{mod + "pkg/password", "golang.org/x/crypto/argon2", mod + "pkg/httpapi", mod + "pkg/auth", mod + "pkg/app/apifn",
	mod + "pkg/users/names", "golang.org/x/text/secure/precis"}

// webAuthn is linked by the passkeys function and the mfa function (a
// login's second step by passkey: /auth/mfa/verify is one route, one
// function) alone.
var webAuthn = []string{"github.com/go-webauthn/webauthn/webauthn", mod + "pkg/passkey/relyingparty"}

// serverStores are linked only when the build asks for them (ROTOR_STORES).
var serverStores = []string{"github.com/jackc/pgx/v5", "github.com/redis/go-redis/v9", mod + "pkg/store/postgres", mod + "pkg/store/redis"}

// TestFunctionsLinkOnlyWhatTheyUse runs `go list -deps` on every function, with
// the Makefile's build tags, and fails when one links a package it has no use
// for: each function's composition root is its own (STYLE.md).
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	api := []string{"signup", "login", "refresh", "logout", "jwks", "me", "sessions", "password", "email", "recovery", "mfa", "passkeys", "token", "revoke", "discovery"}
	type rule struct {
		must, mustNot []string
	}
	rules := map[string]rule{
		"authorizer": {
			must:    []string{mod + "pkg/authorizer", mod + "pkg/token", mod + "pkg/keys"},
			mustNot: concat(localOnly, sdkConfig, apiOnly, serverStores),
		},
		"mailer": {
			must: []string{mod + "pkg/mail", mod + "pkg/outbox"},
			mustNot: concat(localOnly, sdkConfig, []string{mod + "pkg/password", "golang.org/x/crypto/argon2", mod + "pkg/httpapi", mod + "pkg/auth",
				mod + "pkg/app/apifn", mod + "pkg/authorizer", mod + "pkg/app/authorizerfn"}),
		},
		// Every path's OPTIONS: the CORS policy, and nothing that reads a
		// store, a key or the AWS SDK.
		"preflight": {
			must: []string{mod + "pkg/cors"},
			mustNot: concat(localOnly, sdkConfig, apiOnly, serverStores, []string{mod + "pkg/keys", mod + "pkg/token", mod + "pkg/store/dynamo",
				mod + "pkg/authorizer", mod + "pkg/app", "github.com/aws/aws-sdk-go-v2/aws"}),
		},
		"rotatekey": {
			must:    []string{mod + "pkg/keys"},
			mustNot: concat(localOnly, sdkConfig, apiOnly, []string{mod + "pkg/authorizer"}),
		},
	}
	for _, fn := range api {
		r := rule{
			must:    []string{mod + "pkg/httpapi", mod + "pkg/auth"},
			mustNot: concat(localOnly, sdkConfig, serverStores, []string{mod + "pkg/authorizer", mod + "pkg/app/authorizerfn"}),
		}
		if fn == "passkeys" || fn == "mfa" {
			r.must = append(r.must, webAuthn...)
		} else {
			r.mustNot = append(r.mustNot, webAuthn...)
		}
		rules[fn] = r
	}
	for _, fn := range []string{"authorizer", "mailer", "rotatekey"} {
		r := rules[fn]
		r.mustNot = append(r.mustNot, webAuthn...)
		rules[fn] = r
	}
	root := testenv.RepoRoot()
	for fn, r := range rules {
		t.Run(fn, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc,nethttpomithttp2,rotor_nopostgres,rotor_noredis", "./functions/"+fn)
			cmd.Dir = root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./functions/%s: %v", fn, err)
			}
			deps := strings.Fields(string(out))
			for _, p := range r.must {
				if !slices.Contains(deps, p) {
					t.Errorf("functions/%s does not link %s: the list is wrong or the function moved", fn, p)
				}
			}
			for _, p := range r.mustNot {
				if slices.Contains(deps, p) {
					t.Errorf("functions/%s links %s, which it does not use", fn, p)
				}
			}
		})
	}
	dirs, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, ok := rules[d.Name()]; d.IsDir() && !ok {
			t.Errorf("functions/%s has no rule here: say what it must not link", d.Name())
		}
	}
}

func concat(lists ...[]string) []string { return slices.Concat(lists...) }
