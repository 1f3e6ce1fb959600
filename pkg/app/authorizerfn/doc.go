// Package authorizerfn is the composition root of the authorizer function:
// token verification, the key source and, for strict sessions only, the
// DynamoDB session store. It links no password hashing and no HTTP API.
package authorizerfn
