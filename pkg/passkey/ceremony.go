package passkey

import (
	"encoding/json"
	"errors"
)

// User is the account a registration is for. Its WebAuthn user handle is
// its id's bytes, so a discoverable login's handle names the user.
type User struct {
	ID       string
	Username string
}

// Response is a client's answer to a ceremony (a PublicKeyCredential in
// its JSON form), parsed but not yet verified: the challenge it claims to
// answer is what the store is asked about before anything is verified.
type Response struct {
	Challenge []byte
	// CredentialID is the credential's id, base64url without padding.
	CredentialID string
	// UserHandle is the assertion's user handle (empty in a registration).
	UserHandle []byte
	// Parsed is the relying party's parsed form, for its Verify methods.
	Parsed any
}

// Assertion is what a verified assertion tells.
type Assertion struct {
	SignCount uint32
	// UserVerified: the authenticator verified the user (PIN, biometric).
	UserVerified bool
	BackupState  bool
	// Regressed: the signature counter did not move forward from the
	// stored one (and is not the 0 of an authenticator without a counter):
	// a cloned authenticator, or a broken one.
	Regressed bool
}

// Record is the fixed part of a credential, what Credential.Data holds
// (JSON): what the listing shows and the relying party's own record of the
// key.
type Record struct {
	// Username is the owner's normalised username (the login reads the
	// user by it).
	Username string `json:"username"`
	// AAGUID names the authenticator model (hex, empty when all zero).
	AAGUID         string   `json:"aaguid,omitempty"`
	Transports     []string `json:"transports,omitempty"`
	BackupEligible bool     `json:"backup_eligible"`
	UserVerified   bool     `json:"user_verified"`
	// Key is the relying party's credential record (public key, flags).
	Key json.RawMessage `json:"key"`
}

// ErrMalformedRecord: a credential's Data does not decode.
var ErrMalformedRecord = errors.New("passkey: malformed credential record")

// Encode returns r as a credential's Data.
func (r Record) Encode() ([]byte, error) { return json.Marshal(r) }

// DecodeRecord reads a credential's Data.
func DecodeRecord(data []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil || len(r.Key) == 0 {
		return Record{}, ErrMalformedRecord
	}
	return r, nil
}
