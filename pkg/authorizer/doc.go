// Package authorizer is the API Gateway Lambda authorizer: it verifies the
// bearer access token of REST API TOKEN and REQUEST events and HTTP API v2
// events, allows with a policy covering the whole API (so a cached decision
// never denies another route) and a flat context, answers "Unauthorized"
// (which API Gateway turns into a 401) for any bad token, and fails closed
// on any internal error.
package authorizer
