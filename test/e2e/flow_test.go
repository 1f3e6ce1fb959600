package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestFlow is the product's main path, on both stores: signup, login, a
// protected route, refresh, a replay inside the grace window, a replay after
// it (reuse: the session dies), logout.
func TestFlow(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			userID := e.signup("Alice", "correct horse battery")
			p1 := e.login("alice", "correct horse battery")

			me := e.me(p1.Access)
			if me.Status != http.StatusOK || me.str("user_id") != userID || me.str("username") != "alice" || me.str("session_id") == "" {
				t.Fatalf("/me: %d %s", me.Status, me.Raw)
			}
			if !strings.HasPrefix(p1.Refresh, sessions.TokenPrefix) {
				t.Fatalf("refresh token %q lacks the %s prefix", p1.Refresh, sessions.TokenPrefix)
			}

			e.clock.Advance(time.Minute)
			r := e.refresh(p1.Refresh)
			if r.Status != http.StatusOK {
				t.Fatalf("refresh: %d %s", r.Status, r.Raw)
			}
			p2 := pairOf(t, r)
			if p2.Refresh == p1.Refresh {
				t.Fatal("refresh returned the same refresh token: not rolling")
			}
			if e.me(p2.Access).Status != http.StatusOK {
				t.Fatal("new access token refused")
			}

			// Inside the grace window: the same new refresh token, a valid access token.
			e.clock.Advance(5 * time.Second)
			r = e.refresh(p1.Refresh)
			if r.Status != http.StatusOK {
				t.Fatalf("replay inside grace: %d %s", r.Status, r.Raw)
			}
			if again := pairOf(t, r); again.Refresh != p2.Refresh || e.me(again.Access).Status != http.StatusOK {
				t.Fatalf("replay inside grace gave another pair: %s", r.Raw)
			}

			// After it: reuse. The answer is invalid_grant and the session is over,
			// so even the legitimate current token stops working.
			e.clock.Advance(10 * time.Second)
			wantError(t, e.refresh(p1.Refresh), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.refresh(p2.Refresh), http.StatusUnauthorized, "invalid_grant")

			// A new login, then logout: its refresh token is dead at once.
			p3 := e.login("alice", "correct horse battery")
			if r := e.do("POST", "/auth/logout", map[string]string{"refresh_token": p3.Refresh}); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.refresh(p3.Refresh), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.do("POST", "/auth/logout", map[string]string{"refresh_token": p3.Refresh}), http.StatusUnauthorized, "invalid_token")

			// The access token outlives logout until it expires (the default,
			// non-strict authorizer), and then the route answers 401.
			e.clock.Advance(16 * time.Minute) // past the 15m lifetime and the leeway
			wantError(t, e.me(p3.Access), http.StatusUnauthorized, "invalid_token")
		})
	}
}

// TestParallelRefresh: 16 refreshes racing with one token rotate exactly
// once, and every one of them gets the same new refresh token.
func TestParallelRefresh(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.signup("bob", "correct horse battery")
			p := e.login("bob", "correct horse battery")
			const n = 16
			got := together(n, func(int) response { return e.refresh(p.Refresh) })
			first := ""
			for i, r := range got {
				if r.Status != http.StatusOK {
					t.Fatalf("refresh %d: %d %s", i, r.Status, r.Raw)
				}
				if first == "" {
					first = r.str("refresh_token")
				}
				if r.str("refresh_token") != first {
					t.Fatalf("refresh %d got a different token", i)
				}
			}
			sid, _ := sessions.ParseRefreshToken(p.Refresh)
			s, err := e.store.GetSession(testenv.Context(t), sid.SessionID)
			if err != nil || s.Rotations != 1 {
				t.Fatalf("session after %d racing refreshes: rotations=%d err=%v; want 1", n, s.Rotations, err)
			}
			if r := e.refresh(first); r.Status != http.StatusOK {
				t.Fatalf("the shared new token must work: %d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestNothingSecretAtRest scans every table after a full flow: no refresh
// token or password in any attribute, argon2id hashes only.
func TestNothingSecretAtRest(t *testing.T) {
	e := newEnv(t, "dynamodb", nil, nil)
	secrets := flowSecrets(t, e)
	hashes := 0
	for _, table := range []string{e.tables.Users, e.tables.Sessions, e.tables.Attempts} {
		out, err := e.db.Scan(testenv.Context(t), &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Items) == 0 {
			t.Fatalf("table %s is empty: the scan proves nothing", table)
		}
		for _, item := range out.Items {
			for attr, v := range item {
				var val string
				switch x := v.(type) {
				case *types.AttributeValueMemberS:
					val = x.Value
				case *types.AttributeValueMemberB:
					val = string(x.Value)
				}
				for what, s := range secrets {
					if s != "" && strings.Contains(val, s) {
						t.Errorf("%s.%s holds the %s", table, attr, what)
					}
				}
				if attr == "password_hash" {
					hashes++
					if !strings.HasPrefix(val, "$argon2id$v=19$m=19456,t=2,p=1$") {
						t.Errorf("password_hash %q is not argon2id at OWASP strength", val)
					}
				}
			}
		}
	}
	if hashes != 1 {
		t.Fatalf("found %d password hashes, want 1", hashes)
	}
}
