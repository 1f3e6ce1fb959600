// Package auth is Rotor's flows end to end: signup, login, refresh, logout,
// session management and password change, composed from users, password,
// throttle, sessions and token. Every error it returns is an *apierr.Error
// whose code is the HTTP contract's, and every security event is logged here.
package auth
