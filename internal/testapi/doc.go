// Package testapi gives tests Rotor's API as the functions build it, on
// development keys and a fresh server MAC key, and, for suites that drive it
// over HTTP (test/e2e, test/faults), a local server on one settable clock.
package testapi
