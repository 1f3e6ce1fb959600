// Package client is the Go side of Rotor for programs that call APIs
// protected by Rotor: an http.RoundTripper that sends the access token,
// refreshes it once when a protected route answers 401 (however many
// requests failed together), persists the rotated pair and retries the
// request, so callers never handle token expiry themselves.
//
// When the server refuses the refresh token itself the session is over;
// the transport reports ErrSessionEnded and never loops.
package client
