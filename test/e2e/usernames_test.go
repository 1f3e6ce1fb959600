package e2e

import (
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
//     case (ToLower), it does not fold ß to ss, and the two look different.
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
		})
	}
}
