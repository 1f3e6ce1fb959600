// Package rotationfn is the composition root of the signing key's Secrets
// Manager rotation function: Secrets Manager and keys.Rotator only.
package rotationfn
