// Package web holds the Rotor demo page: a plain HTML page over the built
// TypeScript client that logs in, calls GET /me in a loop and shows each
// silent token refresh. The local server serves Demo at /.
package web
