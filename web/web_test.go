package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/web"
)

func TestDemoServesItsFiles(t *testing.T) {
	srv := httptest.NewServer(http.FileServerFS(web.Demo))
	defer srv.Close()
	tests := []struct {
		path     string
		wantType string
		wantBody string
	}{
		{"/", "text/html", `id="refresh-count"`},
		{"/demo.js", "text/javascript", `from './rotor-client.js'`},
		{"/rotor-client.js", "text/javascript", "export function createRotorFetch"},
		{"/demo.css", "text/css", "#refresh-count"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := new(strings.Builder)
			if _, err := io.Copy(buf, resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s = %d", tc.path, resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type = %q, want %s", ct, tc.wantType)
			}
			if !strings.Contains(buf.String(), tc.wantBody) {
				t.Errorf("body lacks %q", tc.wantBody)
			}
		})
	}
}

func TestDemoHasNoStrayFiles(t *testing.T) {
	var names []string
	fs.WalkDir(web.Demo, ".", func(path string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			names = append(names, path)
		}
		return err
	})
	if got := strings.Join(names, " "); got != "demo.css demo.js index.html rotor-client.js" {
		t.Errorf("embedded files = %s", got)
	}
}
