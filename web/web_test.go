package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/mail"
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
		{"/qrcode.mjs", "text/javascript", "Licensed under the MIT license"},
		{"/dpop.mjs", "text/javascript", "export async function generateProof"},
		{"/dpop.LICENSE.md", "", "Copyright (c) 2020 Filip Skokan"},
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

// TestLinkPagesServeTheDemo: the pages a mail's link opens (the app URL
// pointed at the demo, as make dev does) are the demo page, which reads the
// token from the fragment; they match pkg/mail's link paths.
func TestLinkPagesServeTheDemo(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	var want []string
	for _, p := range mail.LinkPaths {
		want = append(want, p)
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(web.LinkPages))
	if !slices.Equal(got, want) {
		t.Fatalf("web.LinkPages = %v; the mails link to %v", got, want)
	}
	for _, p := range append(got, "/") {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `id="reset-form"`) {
			t.Fatalf("GET %s = %d, not the demo page", p, resp.StatusCode)
		}
	}
	if resp, err := http.Get(srv.URL + "/reset-password/x"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /reset-password/x: %v %v; want 404", resp.StatusCode, err)
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
	if got := strings.Join(names, " "); got != "demo.css demo.js dpop.LICENSE.md dpop.mjs index.html qrcode.mjs rotor-client.js" {
		t.Errorf("embedded files = %s", got)
	}
}

// TestVendoredQREncoderIsUpstream: qrcode.mjs is the published file, unedited,
// its MIT licence header kept.
func TestVendoredQREncoderIsUpstream(t *testing.T) {
	b, err := fs.ReadFile(web.Demo, "qrcode.mjs")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != web.QRCodeSHA256 {
		t.Errorf("qrcode.mjs SHA-256 = %s, want qrcode-generator@2.0.4's %s", got, web.QRCodeSHA256)
	}
	for _, want := range []string{"Copyright (c) 2009 Kazuhiko Arase", "Licensed under the MIT license"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("qrcode.mjs lacks %q", want)
		}
	}
}

// TestVendoredDPoPIsUpstream: dpop.mjs is the published file, unedited, its
// MIT licence beside it, and the page's import map sends the client's
// "dpop" import to it.
func TestVendoredDPoPIsUpstream(t *testing.T) {
	b, err := fs.ReadFile(web.Demo, "dpop.mjs")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != web.DPoPSHA256 {
		t.Errorf("dpop.mjs SHA-256 = %s, want dpop@2.1.2's %s", got, web.DPoPSHA256)
	}
	lic, err := fs.ReadFile(web.Demo, "dpop.LICENSE.md")
	if err != nil || !strings.Contains(string(lic), "The MIT License") {
		t.Errorf("dpop.LICENSE.md: %v", err)
	}
	page, _ := fs.ReadFile(web.Demo, "index.html")
	if !strings.Contains(string(page), `"dpop": "./dpop.mjs"`) {
		t.Error(`index.html has no import map entry "dpop": "./dpop.mjs"`)
	}
	client, _ := fs.ReadFile(web.Demo, "rotor-client.js")
	if !strings.Contains(string(client), `from 'dpop'`) {
		t.Error("rotor-client.js does not import dpop: the import map entry is stale")
	}
}
