// Package memory is the embedded store of the local server: users, sessions
// and login attempts in process memory, with exactly the conditional-write
// semantics of the DynamoDB store (store/storetest holds both to them).
package memory
