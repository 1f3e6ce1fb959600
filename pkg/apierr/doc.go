// Package apierr defines the one error type that crosses Rotor's HTTP boundary:
// a status, a fixed machine-readable code and a public description, wrapping the
// internal cause that is logged but never shown to clients.
package apierr
