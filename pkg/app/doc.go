// Package app assembles Rotor's parts from a config.Config: the stores, the
// key source, the flows, the HTTP handlers and the authorizer. Lambda
// functions and the local server call it once at start and share nothing else.
package app
