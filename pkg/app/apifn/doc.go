// Package apifn is the composition root of the API functions (signup, login,
// refresh, logout, jwks, me, sessions, password): the DynamoDB store, the key
// sources, the flows and the HTTP handlers, built once per cold start.
package apifn
