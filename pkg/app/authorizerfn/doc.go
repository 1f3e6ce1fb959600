// Package authorizerfn is the composition root of the authorizer function:
// token verification, the key source and, for strict sessions or DPoP, the
// store (sessions; spent DPoP proofs, shared by every container). It links
// no password hashing and no HTTP API.
package authorizerfn
