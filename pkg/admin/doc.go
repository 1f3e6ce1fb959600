// Package admin is the logic of the rotor operator CLI: listing and ending
// sessions, locking accounts and rotating signing keys, each action written
// to the log as an audit event naming who ran it. cmd/rotor only wires it.
// The Lambda functions never import it.
package admin
