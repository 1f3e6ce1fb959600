package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestDiscovery: both well-known documents resolve under the issuer, agree,
// and point at endpoints that exist.
func TestDiscovery(t *testing.T) {
	s := start(t, false, "ES256")
	oidc := discover(t, s.client, s.url, "/.well-known/openid-configuration")
	rfc8414 := discover(t, s.client, s.url, "/.well-known/oauth-authorization-server")
	if !reflect.DeepEqual(oidc, rfc8414) {
		t.Errorf("the two documents differ:\n%+v\n%+v", oidc, rfc8414)
	}
	if oidc.Issuer != s.url || oidc.TokenEndpoint != s.url+"/oauth/token" || oidc.RevocationEndpoint != s.url+"/oauth/revoke" || oidc.JWKSURI != s.url+"/.well-known/jwks.json" {
		t.Errorf("endpoints: %+v (issuer %s)", oidc, s.url)
	}
	if !reflect.DeepEqual(oidc.AuthMethods, []string{"none"}) || !reflect.DeepEqual(oidc.Algs, []string{"ES256"}) {
		t.Errorf("auth methods %v, algs %v", oidc.AuthMethods, oidc.Algs)
	}
	resp, err := s.client.Get(oidc.JWKSURI)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks_uri: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestXOAuth2 is golang.org/x/oauth2 used as its documentation shows:
// PasswordCredentialsToken, then a TokenSource that refreshes by itself,
// with each way the library can present a public client.
func TestXOAuth2(t *testing.T) {
	s := start(t, false, "ES256")
	s.signup("gopher", "correct horse battery")
	meta := discover(t, s.client, s.url, "/.well-known/openid-configuration")
	styles := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"auto-detect", oauth2.AuthStyleAutoDetect},
		{"in params", oauth2.AuthStyleInParams},
		{"in header", oauth2.AuthStyleInHeader},
	}
	for _, st := range styles {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
			conf := &oauth2.Config{ClientID: "go-client", Endpoint: oauth2.Endpoint{TokenURL: meta.TokenEndpoint, AuthStyle: st.style}}
			tok, err := conf.PasswordCredentialsToken(ctx, "gopher", "correct horse battery")
			if err != nil {
				t.Fatalf("PasswordCredentialsToken: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Type() != "Bearer" || time.Until(tok.Expiry) < time.Minute {
				t.Fatalf("token: %+v", tok)
			}
			me := func(ts oauth2.TokenSource) int {
				t.Helper()
				resp, err := oauth2.NewClient(ctx, ts).Get(s.url + "/me")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if got := me(conf.TokenSource(ctx, tok)); got != http.StatusOK {
				t.Fatalf("/me with the first token: %d", got)
			}

			// The access token expires: the TokenSource refreshes on its own.
			expired := *tok
			expired.Expiry = time.Now().Add(-time.Minute)
			ts := conf.TokenSource(ctx, &expired)
			if got := me(ts); got != http.StatusOK {
				t.Fatalf("/me after the refresh: %d", got)
			}
			next, err := ts.Token()
			if err != nil {
				t.Fatal(err)
			}
			if next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
				t.Fatal("the TokenSource did not rotate the pair")
			}

			// Revocation ends the session: the TokenSource's next refresh
			// fails with RFC 6749's invalid_grant.
			st, body := s.post("/oauth/revoke", "application/x-www-form-urlencoded", url.Values{"token": {next.RefreshToken}, "client_id": {"go-client"}}.Encode())
			if st != http.StatusOK {
				t.Fatalf("revoke: %d %v", st, body)
			}
			gone := *next
			gone.Expiry = time.Now().Add(-time.Minute)
			_, err = conf.TokenSource(ctx, &gone).Token()
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.Response.StatusCode != http.StatusBadRequest {
				t.Fatalf("refresh after revocation: %v", err)
			}
		})
	}
	t.Run("a wrong password is invalid_grant", func(t *testing.T) {
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
		conf := &oauth2.Config{ClientID: "go-client", Endpoint: oauth2.Endpoint{TokenURL: meta.TokenEndpoint}}
		_, err := conf.PasswordCredentialsToken(ctx, "gopher", "not the password")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a client secret is refused", func(t *testing.T) {
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.client)
		conf := &oauth2.Config{ClientID: "go-client", ClientSecret: "s3cret", Endpoint: oauth2.Endpoint{TokenURL: meta.TokenEndpoint}}
		_, err := conf.PasswordCredentialsToken(ctx, "gopher", "correct horse battery")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
			t.Fatalf("got %v", err)
		}
	})
}
