// Package storetest is the contract every Rotor store must meet, as one test
// suite: the embedded store and the DynamoDB store both run it, so the local
// server behaves exactly like production.
package storetest
