package relyingparty

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/passkey"
)

var _ auth.RelyingParty = (*RelyingParty)(nil)

// ErrRefused wraps every verification failure (the library's error is its
// cause, for the log; clients see one answer).
var ErrRefused = errors.New("relyingparty: response refused")

// Config names the relying party.
type Config struct {
	// ID is the RP id: the registrable domain the passkeys are bound to
	// ("example.com").
	ID string
	// Name is shown by authenticators ("Rotor" when empty).
	Name string
	// Origins are the web origins allowed to run the ceremonies
	// ("https://app.example.com").
	Origins []string
}

// RelyingParty runs the ceremonies. It is safe for concurrent use.
type RelyingParty struct {
	w *webauthn.WebAuthn
}

// New validates cfg and returns its relying party.
func New(cfg Config) (*RelyingParty, error) {
	if cfg.Name == "" {
		cfg.Name = "Rotor"
	}
	if cfg.ID == "" || len(cfg.Origins) == 0 {
		return nil, errors.New("relyingparty: an RP id and at least one origin are required")
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID: cfg.ID, RPDisplayName: cfg.Name, RPOrigins: cfg.Origins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationPreferred,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("relyingparty: %w", err)
	}
	return &RelyingParty{w: w}, nil
}

// user is a passkey.User as the library reads it.
type user struct {
	u     passkey.User
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return []byte(u.u.ID) }
func (u user) WebAuthnName() string                       { return u.u.Username }
func (u user) WebAuthnDisplayName() string                { return u.u.Username }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func rawID(id string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(id) }

// RegistrationOptions returns the creation options for u (the JSON
// PublicKeyCredential.parseCreationOptionsFromJSON reads: the "publicKey"
// member of the library's answer) and their challenge. The user's
// existing credentials are excluded, so an authenticator does not register
// twice.
func (rp *RelyingParty) RegistrationOptions(u passkey.User, existing []passkey.Credential) (options json.RawMessage, challenge []byte, err error) {
	var exclude []protocol.CredentialDescriptor
	for _, c := range existing {
		id, err := rawID(c.ID)
		if err != nil {
			continue
		}
		exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id})
	}
	creation, session, err := rp.w.BeginRegistration(user{u: u}, webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, nil, fmt.Errorf("relyingparty: registration options: %w", err)
	}
	return encodeOptions(creation.Response, session.Challenge)
}

// LoginOptions returns request options for a discoverable login (no
// allowCredentials: the browser offers the passkeys it holds for the RP
// id) and their challenge.
func (rp *RelyingParty) LoginOptions() (options json.RawMessage, challenge []byte, err error) {
	assertion, session, err := rp.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, fmt.Errorf("relyingparty: login options: %w", err)
	}
	return encodeOptions(assertion.Response, session.Challenge)
}

// MFAOptions returns request options for a login's second step: the
// user's credentials as allowCredentials (only they can answer), user
// verification preferred, and their challenge.
func (rp *RelyingParty) MFAOptions(creds []passkey.Credential) (options json.RawMessage, challenge []byte, err error) {
	var allow []protocol.CredentialDescriptor
	for _, c := range creds {
		id, err := rawID(c.ID)
		if err != nil {
			continue
		}
		d := protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: id}
		if r, err := passkey.DecodeRecord(c.Data); err == nil {
			for _, t := range r.Transports {
				d.Transport = append(d.Transport, protocol.AuthenticatorTransport(t))
			}
		}
		allow = append(allow, d)
	}
	if len(allow) == 0 {
		return nil, nil, errors.New("relyingparty: mfa options: no credentials")
	}
	assertion, session, err := rp.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationPreferred),
		webauthn.WithAllowedCredentials(allow))
	if err != nil {
		return nil, nil, fmt.Errorf("relyingparty: mfa options: %w", err)
	}
	return encodeOptions(assertion.Response, session.Challenge)
}

func encodeOptions(v any, challenge string) (json.RawMessage, []byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("relyingparty: options: %w", err)
	}
	c, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil {
		return nil, nil, fmt.Errorf("relyingparty: options: %w", err)
	}
	return raw, c, nil
}

func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s: %s %s", ErrRefused, pe.Type, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("%w: %w", ErrRefused, err)
}

// challengeOf decodes the challenge a client data claims to answer.
func challengeOf(s string) ([]byte, error) {
	c, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || len(c) == 0 {
		return nil, fmt.Errorf("%w: malformed challenge", ErrRefused)
	}
	return c, nil
}

// ParseRegistration parses a registration response (the
// PublicKeyCredential's toJSON form). Nothing is verified yet.
func (rp *RelyingParty) ParseRegistration(body []byte) (passkey.Response, error) {
	p, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return passkey.Response{}, refused(err)
	}
	c, err := challengeOf(p.Response.CollectedClientData.Challenge)
	if err != nil {
		return passkey.Response{}, err
	}
	return passkey.Response{Challenge: c, CredentialID: base64.RawURLEncoding.EncodeToString(p.RawID), Parsed: p}, nil
}

// session is the ceremony's state, rebuilt: the challenge is the one the
// store accepted (its hash), the rest is this relying party's fixed policy.
func (rp *RelyingParty) session(challenge, userID []byte) webauthn.SessionData {
	return webauthn.SessionData{
		Challenge: base64.RawURLEncoding.EncodeToString(challenge), RelyingPartyID: rp.w.Config.RPID, UserID: userID,
		UserVerification: protocol.VerificationPreferred, CredParams: webauthn.CredentialParametersDefault(),
	}
}

// VerifyRegistration verifies r (from ParseRegistration) as u's answer to
// challenge (which the store accepted): origin, RP id, challenge, flags,
// attestation statement. It returns the credential's fixed record and its
// signature counter.
func (rp *RelyingParty) VerifyRegistration(u passkey.User, challenge []byte, r passkey.Response) (passkey.Record, uint32, error) {
	p, ok := r.Parsed.(*protocol.ParsedCredentialCreationData)
	if !ok {
		return passkey.Record{}, 0, fmt.Errorf("%w: not a parsed registration", ErrRefused)
	}
	session := rp.session(challenge, []byte(u.ID))
	// The options asked for credProps: the rebuilt session says so too, or
	// the browser's answer to it is refused as unsolicited.
	session.Extensions = protocol.AuthenticationExtensions{CredProps: true}.Session()
	cred, err := rp.w.CreateCredential(user{u: u}, session, p)
	if err != nil {
		return passkey.Record{}, 0, refused(err)
	}
	cred.Attestation = webauthn.CredentialAttestation{} // not kept: attestation is not requested
	key, err := json.Marshal(cred)
	if err != nil {
		return passkey.Record{}, 0, fmt.Errorf("relyingparty: %w", err)
	}
	rec := passkey.Record{
		Username: u.Username, BackupEligible: cred.Flags.BackupEligible, UserVerified: cred.Flags.UserVerified, Key: key,
	}
	if !bytes.Equal(cred.Authenticator.AAGUID, make([]byte, len(cred.Authenticator.AAGUID))) {
		rec.AAGUID = hex.EncodeToString(cred.Authenticator.AAGUID)
	}
	for _, t := range cred.Transport {
		rec.Transports = append(rec.Transports, string(t))
	}
	return rec, cred.Authenticator.SignCount, nil
}

// ParseAssertion parses a login response (the PublicKeyCredential's toJSON
// form). Nothing is verified yet.
func (rp *RelyingParty) ParseAssertion(body []byte) (passkey.Response, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return passkey.Response{}, refused(err)
	}
	c, err := challengeOf(p.Response.CollectedClientData.Challenge)
	if err != nil {
		return passkey.Response{}, err
	}
	return passkey.Response{
		Challenge: c, CredentialID: base64.RawURLEncoding.EncodeToString(p.RawID), UserHandle: p.Response.UserHandle, Parsed: p,
	}, nil
}

// VerifyAssertion verifies r (from ParseAssertion) as an answer to
// challenge (which the store accepted) by the stored credential c of u:
// user handle, origin, RP id, challenge, signature, flags. The counter's
// regression is reported, not refused: the caller's policy decides.
func (rp *RelyingParty) VerifyAssertion(u passkey.User, c passkey.Credential, challenge []byte, r passkey.Response) (passkey.Assertion, error) {
	p, ok := r.Parsed.(*protocol.ParsedCredentialAssertionData)
	if !ok {
		return passkey.Assertion{}, fmt.Errorf("%w: not a parsed assertion", ErrRefused)
	}
	rec, err := passkey.DecodeRecord(c.Data)
	if err != nil {
		return passkey.Assertion{}, err
	}
	var cred webauthn.Credential
	if err := json.Unmarshal(rec.Key, &cred); err != nil {
		return passkey.Assertion{}, passkey.ErrMalformedRecord
	}
	cred.Authenticator.SignCount, cred.Flags.BackupState = c.SignCount, c.BackupState
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		if !bytes.Equal(rawID, cred.ID) {
			return nil, errors.New("another credential")
		}
		return user{u: u, creds: []webauthn.Credential{cred}}, nil
	}
	got, err := rp.w.ValidateDiscoverableLogin(handler, rp.session(challenge, nil), p)
	if err != nil {
		return passkey.Assertion{}, refused(err)
	}
	flags := p.Response.AuthenticatorData.Flags
	return passkey.Assertion{
		SignCount:    p.Response.AuthenticatorData.Counter,
		UserVerified: flags.HasUserVerified(),
		BackupState:  flags.HasBackupState(),
		Regressed:    got.Authenticator.CloneWarning,
	}, nil
}

// FromConfig builds the relying party cfg names (ROTOR_WEBAUTHN_RP_ID,
// ROTOR_WEBAUTHN_ORIGINS, ROTOR_PRODUCT_NAME).
func FromConfig(cfg config.Config) (*RelyingParty, error) {
	return New(Config{ID: cfg.WebAuthnRPID, Name: cfg.ProductName, Origins: cfg.WebAuthnOrigins})
}

// WithRP is the apifn.Run option of the functions that verify WebAuthn
// ceremonies (passkeys, and mfa for its passkey second step): it gives
// the flows the relying party cfg names. Only those functions link this
// package, so only they link go-webauthn.
func WithRP(cfg config.Config, d *apifn.Deps) error {
	rp, err := FromConfig(cfg)
	d.RP = rp
	return err
}
