package httpapi

import "github.com/rotor-auth/rotor/pkg/sessions"

// validSessionID reports whether an id from a path has the one spelling of a
// session id, so that nothing else (a 10 KB path segment DynamoDB would
// refuse as a key, a second spelling of the same bytes) reaches the store.
func validSessionID(id string) bool { return sessions.ValidSessionID(id) }
