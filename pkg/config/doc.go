// Package config reads Rotor's settings from the environment in one place,
// fills defaults and validates them, so every program starts with a complete,
// checked Config or a clear error naming the bad variable.
package config
