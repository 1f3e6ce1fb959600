package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// TestJSONRoutesRefuseOtherMediaTypes, as a page on another site: a POST
// whose body has no Content-Type, or text/plain, a form or multipart type, is
// a CORS "simple" request the browser sends with the user's cookies and no
// preflight, so the CORS policy never gets to refuse it. Every JSON route
// (the account-recovery routes too) answers such a body 415
// unsupported_media_type before it acts: the session still refreshes, the
// account is not created. application/json, with or
// without parameters (charset UTF-8 only), is served.
func TestJSONRoutesRefuseOtherMediaTypes(t *testing.T) {
	api := strictAPI(t)
	signUp(t, api)
	u := logIn(t, api)
	ctx := context.Background()
	newUser := `{"username":"mallory","password":"correct horse battery"}`
	routes := []struct {
		name   string
		handle httpapi.Handler
		path   string
		body   string
		authz  map[string]any
		bearer string
	}{
		{"signup", api.Signup, "/auth/signup", newUser, nil, ""},
		{"login", api.Login, "/auth/login", creds, nil, ""},
		{"refresh", api.Refresh, "/auth/refresh", `{"refresh_token":"` + u.refresh + `"}`, nil, ""},
		{"logout", api.Logout, "/auth/logout", `{"refresh_token":"` + u.refresh + `"}`, nil, ""},
		{"logout all", api.Logout, "/auth/logout", `{"all":true}`, nil, u.access},
		{"password", api.Password, "/auth/password", `{"current_password":"correct horse battery","new_password":"another horse battery"}`, u.context, ""},
		// the account-recovery routes (issue 20)
		{"verify email", api.Email, httpapi.RouteEmailVerify, `{"token":"rtv_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`, nil, ""},
		{"change email", api.Email, httpapi.RouteEmail, `{"current_password":"correct horse battery","email":"mallory@example.com"}`, u.context, ""},
		{"forgot", api.Recovery, httpapi.RoutePasswordForgot, `{"username":"alice"}`, nil, ""},
		{"reset", api.Recovery, httpapi.RoutePasswordReset, `{"token":"rtr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","new_password":"another horse battery"}`, nil, ""},
	}
	refused := []struct {
		name string
		ct   *string // nil: no Content-Type header at all
	}{
		{"no Content-Type", nil},
		{"empty", sentCT("")},
		{"text/plain", sentCT("text/plain")},
		{"text/plain with charset", sentCT("text/plain;charset=UTF-8")},
		{"form", sentCT("application/x-www-form-urlencoded")},
		{"multipart", sentCT("multipart/form-data; boundary=x")},
		{"a JSON suffix type", sentCT("application/json-patch+json")},
		{"a look-alike", sentCT("application/jsonp")},
		{"charset not UTF-8", sentCT("application/json; charset=iso-8859-1")},
		{"malformed", sentCT("application/json; charset")},
	}
	for _, r := range routes {
		for _, c := range refused {
			t.Run(r.name+"/"+c.name, func(t *testing.T) {
				req := event(t, r.path, r.body)
				delete(req.Headers, "Content-Type")
				delete(req.MultiValueHeaders, "Content-Type")
				if c.ct != nil {
					req.Headers["Content-Type"] = *c.ct
				}
				if r.bearer != "" {
					req.Headers["Authorization"] = "Bearer " + r.bearer
				}
				req.RequestContext.Authorizer = r.authz
				resp, err := r.handle(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				code, desc := apiError(t, resp)
				if resp.StatusCode != http.StatusUnsupportedMediaType || code != "unsupported_media_type" || desc == "" {
					t.Fatalf("got %d %s; want 415 unsupported_media_type", resp.StatusCode, resp.Body)
				}
			})
		}
	}
	// Nothing above acted: the session is alive and current, the password
	// unchanged, and the new name is free.
	stillRefreshes(t, api, u.refresh)
	logIn(t, api)
	if resp, _ := api.Signup(ctx, event(t, "/auth/signup", newUser)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("signup after the refused ones: %d %s; want 201", resp.StatusCode, resp.Body)
	}

	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=\"UTF-8\"", "application/json;v=1"} {
		t.Run("served/"+ct, func(t *testing.T) {
			req := event(t, "/auth/login", creds)
			delete(req.MultiValueHeaders, "Content-Type")
			req.Headers["Content-Type"] = ct
			if resp, _ := api.Login(ctx, req); resp.StatusCode != http.StatusOK {
				t.Fatalf("login with Content-Type %q: %d %s; want 200", ct, resp.StatusCode, resp.Body)
			}
		})
	}
}

func sentCT(s string) *string { return &s }
