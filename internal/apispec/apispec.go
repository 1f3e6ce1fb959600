// Package apispec checks live HTTP answers against docs/openapi.yaml, the
// OpenAPI 3.1 description of Rotor's API, with kin-openapi's openapi3filter.
// The end-to-end tests run every response through it.
package apispec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Spec is the loaded and validated description.
type Spec struct {
	Doc    *openapi3.T
	router routers.Router
	base   *url.URL // the first server's URL, where requests are re-aimed
}

// Path is docs/openapi.yaml in this repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "openapi.yaml")
}

// Load reads path and validates the document itself.
func Load(ctx context.Context, path string) (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("apispec: load %s: %w", path, err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("apispec: %s is not a valid OpenAPI document: %w", path, err)
	}
	if len(doc.Servers) == 0 {
		return nil, errors.New("apispec: the document names no server")
	}
	base, err := url.Parse(doc.Servers[0].URL)
	if err != nil {
		return nil, fmt.Errorf("apispec: server URL: %w", err)
	}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apispec: router: %w", err)
	}
	return &Spec{Doc: doc, router: r, base: base}, nil
}

// Check reports how an answer to req (status, header, body) departs from
// the description: an undocumented route, status, content type or body.
func (s *Spec) Check(ctx context.Context, req *http.Request, status int, header http.Header, body []byte) error {
	// Route on the path alone: the test server's address is not a server
	// of the document.
	u := *s.base
	u.Path = s.base.Path + req.URL.Path
	u.RawQuery = req.URL.RawQuery
	r := req.Clone(ctx)
	r.URL, r.Host, r.Body = &u, u.Host, http.NoBody
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("apispec: %s %s is not in docs/openapi.yaml: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return fmt.Errorf("apispec: %s %s answered %d %s: %w", req.Method, req.URL.Path, status, clip(body), err)
	}
	return nil
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// Transport is an http.RoundTripper that checks every answer it carries and
// hands each departure to Fail (t.Errorf in a test).
type Transport struct {
	Spec *Spec
	Base http.RoundTripper // http.DefaultTransport when nil
	Fail func(error)
}

// RoundTrip sends req and checks the answer.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := t.Spec.Check(req.Context(), req, resp.StatusCode, resp.Header, body); err != nil {
		t.Fail(err)
	}
	return resp, nil
}
