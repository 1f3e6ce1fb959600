// Package app holds what every Rotor program builds the same way from a
// config.Config: the SDK configuration, the DynamoDB store, the key sources
// and the logger. It imports only those clients; each function's own wiring
// (apifn, authorizerfn, rotationfn) adds what that function uses, so each
// binary links only what it uses (deps_test.go checks it).
package app
