// Package httpapi adapts Rotor's flows to API Gateway REST (v1 proxy) events:
// bounded, strict JSON decoding, the token response, the refresh-token cookie
// transport, CORS headers, and the one place where errors become responses and
// their internal causes are logged.
package httpapi
