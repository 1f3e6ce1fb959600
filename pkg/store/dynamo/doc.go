// Package dynamo is the DynamoDB store: users, sessions (with a by-user index)
// and login attempts, each operation one request, every rotation one
// conditional UpdateItem that returns the old item when its condition fails.
package dynamo
