package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/cors"
	"github.com/rotor-auth/rotor/pkg/deadline"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Request and Response are API Gateway REST proxy events.
type (
	Request  = events.APIGatewayProxyRequest
	Response = events.APIGatewayProxyResponse
)

// Handler is one route's Lambda handler.
type Handler func(ctx context.Context, req Request) (Response, error)

// MaxBodyBytes bounds every request body: larger bodies are refused before
// any JSON is parsed. The largest legitimate body (a password change with two
// maximal passwords) is far smaller.
const MaxBodyBytes = 4 << 10

// API holds what the handlers share. Build it once per cold start.
type API struct {
	Auth       *auth.Service
	Verifier   *token.Verifier // bearer tokens on /auth/logout
	Keys       keys.Source     // JWKS
	CORSOrigin string
	Log        *slog.Logger

	// StoreTimeout bounds the store and key calls of each request (see
	// Bound); 0 leaves only the margin before the Lambda deadline.
	StoreTimeout time.Duration

	// Issuer and SigningAlg describe the server in its discovery document.
	Issuer     string
	SigningAlg string

	// DPoP checks the DPoP proofs (RFC 9449) of the token endpoints: nil
	// when ROTOR_DPOP is off (proofs are ignored; every session is a bearer
	// one). Its Replay is the store's SpendDPoPProof, shared by every
	// container; its Nonces, when set, make server nonces required.
	DPoP *dpop.Verifier
	// DPoPRequired refuses a token request without a proof
	// (ROTOR_DPOP=required).
	DPoPRequired bool
}

func (a *API) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// reply is what a route returns when it succeeds.
type reply struct {
	status  int
	body    any
	cookies []string
	headers map[string]string
}

// serve runs a route under the request's store deadline and turns its
// outcome into a response: the one error path. Every route also answers its
// own CORS preflight as PreflightFunction does (template.yaml sends every
// path's OPTIONS to that one function; the local server sends it here).
func (a *API) serve(ctx context.Context, req Request, route func(context.Context) (reply, error)) (Response, error) {
	if req.HTTPMethod == http.MethodOptions {
		return cors.Preflight(a.CORSOrigin), nil
	}
	rctx, cancel := deadline.Bound(ctx, a.StoreTimeout)
	r, err := route(rctx)
	expired := rctx.Err() != nil
	cancel()
	if err != nil {
		e := apierr.From(err)
		if e.Status == http.StatusInternalServerError && expired {
			// Whatever the SDK made of it, a call that ran out of the
			// request's time is an outage to retry after, not a bug.
			u := apierr.Unavailable.With(e.Cause)
			u.Fields = e.Fields // a refresh's retry ticket stays with it
			e = u
		}
		attrs := []any{"status", e.Status, "code", e.Code, "method", req.HTTPMethod, "path", req.Path, "request_id", req.RequestContext.RequestID}
		if e.Cause != nil {
			attrs = append(attrs, "cause", e.Cause.Error())
		}
		if e.Status >= 500 {
			a.log().ErrorContext(ctx, "request failed", attrs...)
		} else {
			a.log().DebugContext(ctx, "request refused", attrs...)
		}
		body := map[string]any{"error": e.Code, "error_description": e.Description}
		for k, v := range e.Fields {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
		for k, v := range e.Lists {
			if _, taken := body[k]; !taken {
				body[k] = v
			}
		}
		r = reply{status: e.Status, body: body, headers: e.Headers()}
	}
	return a.respond(r), nil
}

// Internal is the answer of a function that cannot serve at all (for
// example, a misconfigured issuer): the one 500 shape, nothing internal.
func Internal(corsOrigin string) Response {
	return (&API{CORSOrigin: corsOrigin}).respond(reply{status: http.StatusInternalServerError, body: map[string]string{"error": apierr.Internal.Code, "error_description": apierr.Internal.Description}})
}

func (a *API) respond(r reply) Response {
	h := map[string]string{
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for k, v := range CORSHeaders(a.CORSOrigin) {
		h[k] = v
	}
	for k, v := range r.headers {
		h[k] = v
	}
	resp := Response{StatusCode: r.status, Headers: h}
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			b = []byte(`{"error":"server_error","error_description":"The server could not complete the request."}`)
			resp.StatusCode = http.StatusInternalServerError
		}
		h["Content-Type"] = "application/json"
		resp.Body = string(b)
	}
	if len(r.cookies) > 0 {
		resp.MultiValueHeaders = map[string][]string{"Set-Cookie": r.cookies}
	}
	return resp
}

// The CORS policy lives in pkg/cors, the one source for every answer: the
// handlers', the preflights' (PreflightFunction's included), the local
// server's stand-ins for API Gateway's own answers, and template.yaml's
// GatewayResponses. These names are kept for their callers.
const (
	CORSAllowHeaders  = cors.AllowHeaders
	CORSAllowMethods  = cors.AllowMethods
	CORSExposeHeaders = cors.ExposeHeaders
	CORSMaxAge        = cors.MaxAge
)

// CORSHeaders are the CORS headers of every answer for origin (cors.Headers).
func CORSHeaders(origin string) map[string]string { return cors.Headers(origin) }

// PreflightHeaders are the headers of a preflight's answer for origin
// (cors.PreflightHeaders).
func PreflightHeaders(origin string) map[string]string { return cors.PreflightHeaders(origin) }

// header returns a request header, whatever its case.
func header(req Request, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

// bodyOf returns the request body, base64-decoded when API Gateway encoded
// it, refused with TooLarge past MaxBodyBytes (checked before decoding too,
// so an oversized body is never decoded).
func bodyOf(req Request) ([]byte, error) {
	raw := req.Body
	if len(raw) > base64.StdEncoding.EncodedLen(MaxBodyBytes) {
		return nil, apierr.TooLarge
	}
	body := []byte(raw)
	if req.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(raw); err != nil {
			return nil, apierr.InvalidRequest.Describe("The body is not valid base64.")
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, apierr.TooLarge
	}
	return body, nil
}

// decode reads the JSON body into dst: bounded in size, application/json
// only (a form post from another site cannot reach it without a preflight),
// one object, no unknown fields, right types.
func decode(req Request, dst any) error {
	if err := jsonContentType(header(req, "Content-Type")); err != nil {
		return err
	}
	body, err := bodyOf(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.InvalidRequest.Describe("The body must be a JSON object.")
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD, so two
	// different byte strings could become the same password.
	if !utf8.Valid(body) {
		return apierr.InvalidRequest.Describe("The body must be UTF-8 (RFC 8259).")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return apierr.InvalidRequest.Describe("%s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.InvalidRequest.Describe("The body must be exactly one JSON object.")
	}
	return nil
}

// jsonContentType refuses, with 415, a JSON route's body whose Content-Type
// is missing or not application/json (parameters allowed, a charset only if
// it is UTF-8, RFC 8259 §8.1). A missing one is refused too: a browser sends
// a body without it, or as text/plain, cross-origin with no preflight (a
// CORS "simple" request), and only the preflight lets the CORS policy refuse
// another site.
func jsonContentType(ct string) error {
	if ct == "" {
		return apierr.UnsupportedMediaType.Describe("Content-Type is missing; send application/json.")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return apierr.UnsupportedMediaType
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return apierr.UnsupportedMediaType.Describe("A JSON body is UTF-8 (RFC 8259 §8.1); send charset=utf-8 or no charset.")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "The body must be a JSON object."
		}
		return fmt.Sprintf("Field %q must be a %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "The body is not valid JSON."
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Sprintf("Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return "The body is not valid JSON."
}

// jsonKind names a Go kind the way JSON does.
func jsonKind(k string) string {
	switch k {
	case "bool":
		return "boolean"
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	}
	return "number"
}

// required reports a missing or empty field.
func required(fields ...[2]string) error {
	for _, f := range fields {
		if f[1] == "" {
			return apierr.InvalidRequest.Describe("Field %q is required.", f[0])
		}
	}
	return nil
}
