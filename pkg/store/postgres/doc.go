// Package postgres implements Rotor's users, sessions and throttle stores on
// PostgreSQL with pgx. Every store operation is one round trip: one SQL
// statement, embedded from sql/*.sql (EndUserSessions: two statements sent
// together as one implicit transaction). The schema lives in package schema.
package postgres
