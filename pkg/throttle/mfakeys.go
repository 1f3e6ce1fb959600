package throttle

// MFAUserKey counts the second-factor guesses (TOTP and recovery codes) at
// one user id, whatever mfa_token or session they come with.
func MFAUserKey(userID string) string { return "mfauser#" + userID }

// MFATokenKey counts the second-factor guesses made with one mfa_token.
func MFATokenKey(id string) string { return "mfatoken#" + id }
