// Package device issues and checks device tokens: what a client gets after
// logging in successfully, and sends back on its next logins, so the server
// can tell the owner's known devices from strangers (OWASP's "device cookie"
// scheme). A login with a valid device token is throttled on that token's own
// counter, so a stranger's failed guesses never lock the owner's devices out.
// A token is stateless: a random nonce, the user's credential epoch and the
// issue time, and a MAC tag binding them to one normalised username under the
// server MAC key (package mac). The login trusts it only while the epoch is
// current and no revoke-all came after it was issued.
package device
