package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/users"
)

// writeCounter counts every write a flow makes to the store.
type writeCounter struct {
	apifn.Store
	writes atomic.Int64
}

func (w *writeCounter) CreateUser(ctx context.Context, u users.User) error {
	w.writes.Add(1)
	return w.Store.CreateUser(ctx, u)
}

func (w *writeCounter) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	w.writes.Add(1)
	return w.Store.CreateSession(ctx, s, evict)
}

func (w *writeCounter) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	w.writes.Add(1)
	return w.Store.RotateSession(ctx, r)
}

// TestBadBodies: malformed, mistyped, incomplete or oversized bodies get 400
// invalid_request, mislabelled ones 415 unsupported_media_type, never a 5xx,
// and nothing is stored.
func TestBadBodies(t *testing.T) {
	huge := strings.Repeat("p", 1<<20)
	bodies := []struct {
		name, body, contentType string
	}{
		{"malformed", `{"username":"dave","password":`, ""},
		{"not an object", `["dave","pw"]`, ""},
		{"null", `null`, ""},
		{"empty", ``, ""},
		{"whitespace", "  \n ", ""},
		{"wrong types", `{"username":12,"password":true}`, ""},
		{"nested", `{"username":{"$ne":null},"password":"correct horse battery"}`, ""},
		{"missing password", `{"username":"dave"}`, ""},
		{"missing everything", `{}`, ""},
		{"unknown field", `{"username":"dave","password":"correct horse battery","admin":true}`, ""},
		{"two objects", `{"username":"dave","password":"correct horse battery"}{}`, ""},
		{"1 MB password", fmt.Sprintf(`{"username":"dave","password":%q}`, huge), ""},
		{"form post", `username=dave&password=correct+horse+battery`, "application/x-www-form-urlencoded"},
		{"text/plain JSON", `{"username":"dave","password":"correct horse battery"}`, "text/plain"},
		{"invalid UTF-8 password", "{\"username\":\"dave\",\"password\":\"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\"}", ""},
		{"control characters in username", `{"username":"da\u0000ve","password":"correct horse battery"}`, ""},
	}
	routes := []string{"/auth/signup", "/auth/login", "/auth/refresh", "/auth/logout"}
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var counter *writeCounter
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { counter = &writeCounter{Store: s}; return counter })
			for _, route := range routes {
				for _, b := range bodies {
					t.Run(route+"/"+b.name, func(t *testing.T) {
						ct := b.contentType
						if ct == "" {
							ct = "application/json"
						}
						r := e.do("POST", route, b.body, "Content-Type", ct)
						if b.contentType != "" {
							wantError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
							return
						}
						if route == "/auth/refresh" || route == "/auth/logout" {
							// These routes do not read username/password: some bodies are
							// well-formed objects with unknown fields, still a 400.
							if r.Status >= 500 || (r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized) {
								t.Fatalf("%d %s", r.Status, r.Raw)
							}
							if r.Status == http.StatusBadRequest {
								wantError(t, r, http.StatusBadRequest, "invalid_request")
							}
							return
						}
						wantError(t, r, http.StatusBadRequest, "invalid_request")
					})
				}
			}
			// A well-formed refresh with a token that is not one.
			for _, junk := range []string{"", "rtr_", "rtr_short", "not-a-token", strings.Repeat("A", 5000)} {
				r := e.refresh(junk)
				if r.Status != http.StatusBadRequest && r.Status != http.StatusUnauthorized {
					t.Fatalf("refresh %.20q: %d %s", junk, r.Status, r.Raw)
				}
			}
			if n := counter.writes.Load(); n != 0 {
				t.Fatalf("bad requests made %d writes; want none", n)
			}
			if _, err := e.store.GetUser(context.Background(), "dave"); err == nil {
				t.Fatal("a bad request created user dave")
			}
		})
	}
}
