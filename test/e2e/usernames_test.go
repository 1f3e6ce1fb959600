package e2e

import (
	"fmt"
	"net/http"
	"testing"
)

// TestLookAlikeUsernames: spellings of a name that a person cannot tell
// apart are the same account or refused, never a second account.
//   - fullwidth "ａｄｍｉｎ" is "admin" after PRECIS width mapping: the name is
//     taken, 409 username_taken;
//   - "аdmin" with a Cyrillic а mixes two scripts: refused as a malformed
//     username, 400 invalid_request (it is no account's name, so "taken"
//     would be wrong, and login with it is refused the same way);
//   - "ADMIN" is "admin" (PRECIS lower-cases): the same account, login works;
//   - "straße" and "strasse" are two names: PRECIS UsernameCaseMapped maps
//     case (ToLower), it does not fold ß to ss, and the two look different;
//   - look-alikes within one script have the name's UTS #39 skeleton
//     (names.Skeleton): "ADMİN" (which lower-cases to "admi̇n"), "admı̇n",
//     "ɑdmin" are "admin", "ɡoogle" is "google", all-Cyrillic "аре" is "ape":
//     409 username_taken, and login with one is an unknown username, 401;
//   - look-alikes signing up at once: one wins, on every store; the same
//     with an address.
func TestLookAlikeUsernames(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			const pw = "correct horse battery"
			admin := e.signup("admin", pw)

			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "ａｄｍｉｎ", "password": "another password 1"}), http.StatusConflict, "username_taken")
			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "ＡＤＭＩＮ", "password": "another password 1"}), http.StatusConflict, "username_taken")
			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "аdmin", "password": "another password 1"}), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "admіn", "password": "another password 1"}), http.StatusBadRequest, "invalid_request")
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "аdmin", "password": pw}), http.StatusBadRequest, "invalid_request")

			for _, spelling := range []string{"ADMIN", "Admin", "ａｄｍｉｎ", " admin "} {
				p := e.login(spelling, pw)
				if r := e.me(p.Access); r.Status != http.StatusOK || r.str("user_id") != admin || r.str("username") != "admin" {
					t.Fatalf("login as %q: /me %d %s; want user %s, username admin", spelling, r.Status, r.Raw, admin)
				}
			}

			strasse := e.signup("straße", pw)
			other := e.signup("STRASSE", "a different password")
			if other == strasse {
				t.Fatal("straße and STRASSE are one account")
			}
			if r := e.me(e.login("STRAẞE", pw).Access); r.str("user_id") != strasse || r.str("username") != "straße" {
				t.Fatalf("login as STRAẞE: %s; want the straße account", r.Raw)
			}
			if r := e.me(e.login("Strasse", "a different password").Access); r.str("user_id") != other || r.str("username") != "strasse" {
				t.Fatalf("login as Strasse: %s; want the strasse account", r.Raw)
			}
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "strasse", "password": pw}), http.StatusUnauthorized, "invalid_credentials")

			e.signup("google", pw)
			e.signup("ape", pw)
			for _, name := range []string{"ADMİN", "admı̇n", "ɑdmin", "admın", "ɡoogle", "аре"} {
				wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": name, "password": "another password 1"}), http.StatusConflict, "username_taken")
				wantError(t, e.do("POST", "/auth/login", map[string]string{"username": name, "password": pw}), http.StatusUnauthorized, "invalid_credentials")
			}

			racers := []string{"martin", "rnartin", "mɑrtin", "martın"}
			rs := together(len(racers), func(i int) response {
				return e.do("POST", "/auth/signup", map[string]string{"username": racers[i], "password": pw})
			})
			created := 0
			for i, r := range rs {
				switch r.Status {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
				default:
					t.Fatalf("signup %q: %d %s", racers[i], r.Status, r.Raw)
				}
			}
			if created != 1 {
				t.Fatalf("%d of the look-alikes %q signed up at once; want 1", created, racers)
			}

			// The same with an address (the account store's CreateAccount
			// writes the skeleton in its one write too).
			wantError(t, e.do("POST", "/auth/signup", map[string]string{"username": "ɑdmin", "password": "another password 1", "email": "alpha@example.com"}), http.StatusConflict, "username_taken")
			mailers := []string{"mary", "rnary", "mɑry"}
			rs = together(len(mailers), func(i int) response {
				return e.do("POST", "/auth/signup", map[string]string{"username": mailers[i], "password": pw, "email": fmt.Sprintf("mary%d@example.com", i)})
			})
			created = 0
			for i, r := range rs {
				switch r.Status {
				case http.StatusCreated:
					created++
				case http.StatusConflict:
				default:
					t.Fatalf("signup %q with an address: %d %s", mailers[i], r.Status, r.Raw)
				}
			}
			if created != 1 {
				t.Fatalf("%d of the look-alikes %q signed up at once with addresses; want 1", created, mailers)
			}
		})
	}
}
