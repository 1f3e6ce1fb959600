package authorizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Refusals of a proof. Both wrap ErrUnauthorized (API Gateway's 401); the
// local server tells them apart for its WWW-Authenticate challenge (RFC 9449
// §7.1): invalid_dpop_proof, or use_dpop_nonce with a fresh DPoP-Nonce.
var (
	ErrInvalidProof = fmt.Errorf("%w: invalid_dpop_proof", ErrUnauthorized)
	ErrUseNonce     = fmt.Errorf("%w: use_dpop_nonce", ErrUnauthorized)
)

// Request is what the authorizer checks of one request.
type Request struct {
	Authorization string // the Authorization header value
	// Proofs are the values of every DPoP header the request carries: a
	// bound token needs exactly one (RFC 9449 §4.3), by its key.
	Proofs []string
	// Method and URL are the request as the client sent it (the proof's htm
	// and htu): the URL absolute, with the stage or custom domain base path
	// the client called. Empty when the event does not say (a TOKEN
	// authorizer's): then a bound token is refused.
	Method string
	URL    string
}

// checkBinding decides whether a verified token may be used the way the
// request uses it: a bound token under the DPoP scheme with one valid proof
// by its key, for this method and URL, whose jti is spent now; an unbound
// one under Bearer, unless DPoP is required.
func (a *Authorizer) checkBinding(ctx context.Context, scheme, raw string, id Identity, r Request, now time.Time) error {
	if id.jkt == "" {
		switch {
		case scheme == token.SchemeDPoP:
			// RFC 9449 §7.1: the DPoP scheme names a bound token; an
			// unbound one under it is a client error or a downgrade probe.
			return a.refuse(ctx, id, ErrInvalidProof, "bearer token under the DPoP scheme")
		case a.RequireDPoP:
			return a.refuse(ctx, id, ErrUnauthorized, "bearer token where DPoP is required")
		}
		return nil
	}
	switch {
	case scheme != token.SchemeDPoP:
		// A copied bound token replayed as a bearer token.
		return a.refuse(ctx, id, ErrInvalidProof, "bound token under the Bearer scheme")
	case a.GatewayCacheTTL > 0:
		// API Gateway would answer the next requests from its cache, with
		// no proof checked: fail closed (the deployment is misconfigured).
		return a.refuse(ctx, id, ErrInvalidProof, "gateway cache on ("+a.GatewayCacheTTL.String()+"): proofs would be skipped")
	case r.Method == "" || r.URL == "":
		return a.refuse(ctx, id, ErrInvalidProof, "event carries no method and URL (TOKEN authorizer)")
	case a.Proofs == nil:
		return a.refuse(ctx, id, ErrInvalidProof, "no proof verifier configured")
	case len(r.Proofs) == 0:
		return a.refuse(ctx, id, ErrInvalidProof, "no proof")
	case len(r.Proofs) > 1:
		return a.refuse(ctx, id, ErrInvalidProof, "more than one DPoP header")
	}
	_, err := a.Proofs.Verify(ctx, r.Proofs[0], dpop.Check{Method: r.Method, URL: r.URL, AccessToken: raw, JKT: id.jkt, Now: now})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, dpop.ErrUseNonce):
		return a.refuse(ctx, id, ErrUseNonce, err.Error())
	case errors.Is(err, dpop.ErrInvalid):
		return a.refuse(ctx, id, ErrInvalidProof, err.Error())
	}
	// The replay store or the nonce key could not answer: no decision.
	return fmt.Errorf("authorizer: dpop proof: %w", err)
}

// refuse logs a refusal of a token's use (Info: the dpop_refused metric
// counts them, and its alarm fires on a burst) and returns err.
func (a *Authorizer) refuse(ctx context.Context, id Identity, err error, reason string) error {
	a.log().InfoContext(ctx, "token use refused", "event", "dpop_refused", "reason", reason,
		"user_id", id.UserID, "session_id", id.SessionID)
	return err
}

// proofs returns every DPoP header value of a REQUEST or HTTP API event. A
// REST event's headers map keeps one value per name (the last), so when it
// has one, multiValueHeaders, which keeps all (under every spelling of the
// name the client used), is read for the rest; a request without a DPoP
// header never pays for that decode. HTTP APIs join repeated headers with
// commas into one value, which no compact JWS contains, so a repeated header
// fails the proof's parse.
func (ev *event) proofs() []string {
	if ev.Headers.DPoP == "" {
		return nil
	}
	var multi map[string][]string
	if len(ev.MultiValueHeaders) > 0 && json.Unmarshal(ev.MultiValueHeaders, &multi) == nil {
		var out []string
		for k, vs := range multi {
			if strings.EqualFold(k, dpop.HeaderName) {
				out = append(out, vs...)
			}
		}
		if out != nil {
			return out
		}
	}
	return []string{ev.Headers.DPoP}
}

// request returns the method and the absolute URL the client called, as a
// proof's htm and htu name them: https (API Gateway serves nothing else;
// http only when X-Forwarded-Proto says exactly that, as `sam local`'s
// emulated gateway does: naming a scheme gains a client nothing, a proof
// still names one URL), the domain the request reached
// (requestContext.domainName: the execute-api host or the custom domain;
// the Host header when an event lacks it), and the path as sent (HTTP API
// 2.0: rawPath; REST and HTTP API 1.0: requestContext.path), which keeps the
// stage of an execute-api URL and the base path of a custom domain. Empty
// strings when the event does not say.
func (ev *event) request() (method, url string) {
	host := ev.RequestContext.DomainName
	if host == "" {
		host = ev.Headers.Host
	}
	var path string
	if ev.Version == "2.0" {
		method, path = ev.RequestContext.HTTP.Method, ev.RawPath
	} else {
		method, path = ev.HTTPMethod, ev.RequestContext.Path
		if method == "" {
			method = ev.RequestContext.HTTPMethod
		}
	}
	if method == "" || host == "" || !strings.HasPrefix(path, "/") {
		return "", ""
	}
	scheme := "https://"
	if strings.EqualFold(ev.Headers.XForwardedProto, "http") {
		scheme = "http://"
	}
	return method, scheme + host + path
}
