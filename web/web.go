package web

import (
	"embed"
	"net/http"
)

// Demo is the demo page's static files, rooted at the page's directory
// (index.html at the top). rotor-client.js is a copy of the client built
// from clients/js, kept in the tree so a fresh clone builds without npm;
// `npm run sync-web` in clients/js refreshes it, and the client's tests
// fail when it is stale. qrcode.mjs is Kazuhiko Arase's QR encoder (MIT,
// its licence header kept), vendored byte for byte from the npm package
// qrcode-generator@2.0.4 (dist/qrcode.mjs; QRCodeSHA256 pins it): the page
// draws the otpauth QR code itself, so the TOTP secret reaches no other
// server and no CDN is needed. dpop.mjs is Filip Skokan's DPoP proof maker
// (MIT, dpop.LICENSE.md beside it), vendored byte for byte from the npm
// package dpop@2.1.2 (build/index.js; DPoPSHA256 pins it): the client
// imports it as "dpop", which index.html's import map resolves to this
// copy, and clients/js depends on the same version.
//
//go:embed index.html demo.js demo.css rotor-client.js qrcode.mjs dpop.mjs dpop.LICENSE.md
var Demo embed.FS

// QRCodeSHA256 is the SHA-256 of qrcode.mjs as published in
// qrcode-generator@2.0.4 (`npm pack qrcode-generator@2.0.4`).
const QRCodeSHA256 = "ea91d7118a5395289170da848b7c6758b996163bfbccf312591ab65a4911b7c0"

// DPoPSHA256 is the SHA-256 of dpop.mjs as published in dpop@2.1.2
// (`npm pack dpop@2.1.2`, build/index.js).
const DPoPSHA256 = "18336e9e4b51556e927b9e063595c00681e7b05164d5cde2e71d2a2f05b84ebf"

// LinkPages are the pages the links of Rotor's mails open under the app URL
// (pkg/mail's LinkPaths). With the app URL set to the demo page (`make dev`
// does), the demo page is each of them: it reads the token from the
// fragment and verifies the address or offers the reset form.
var LinkPages = []string{"/verify-email", "/reset-password"}

// Handler serves the demo page: its files, and index.html at LinkPages.
func Handler() http.Handler {
	files := http.FileServerFS(Demo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range LinkPages {
			if r.URL.Path == p {
				http.ServeFileFS(w, r, Demo, "index.html")
				return
			}
		}
		files.ServeHTTP(w, r)
	})
}
