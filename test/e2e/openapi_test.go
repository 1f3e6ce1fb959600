package e2e

import (
	"context"
	"net/http"
	"sync"

	"github.com/rotor-auth/rotor/internal/apispec"
)

// spec is docs/openapi.yaml, loaded once for every test of the package.
var spec = sync.OnceValues(func() (*apispec.Spec, error) {
	return apispec.Load(context.Background(), apispec.Path())
})

// conform fails the test when an answer departs from docs/openapi.yaml:
// every response of the end-to-end tests passes through here.
func (e *env) conform(req *http.Request, resp *http.Response, body []byte) {
	e.t.Helper()
	s, err := spec()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := s.Check(context.Background(), req, resp.StatusCode, resp.Header, body); err != nil {
		e.t.Errorf("%v", err)
	}
}
