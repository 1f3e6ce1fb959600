package httpapi

import "encoding/base64"

// sessionIDLen is the length of a session id: 16 random bytes in unpadded
// base64url (pkg/sessions).
const sessionIDLen = 22

// validSessionID reports whether id has the one spelling a session id has,
// so that nothing else (a 10 KB path segment DynamoDB would refuse as a key,
// a second spelling of the same bytes) reaches the store.
func validSessionID(id string) bool {
	if len(id) != sessionIDLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(id)
	return err == nil && len(b) == 16
}
