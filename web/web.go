package web

import (
	"embed"
	"net/http"
)

// Demo is the demo page's static files, rooted at the page's directory
// (index.html at the top). rotor-client.js is a copy of the client built
// from clients/js, kept in the tree so a fresh clone builds without npm;
// `npm run sync-web` in clients/js refreshes it, and the client's tests
// fail when it is stale.
//
//go:embed index.html demo.js demo.css rotor-client.js
var Demo embed.FS

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
