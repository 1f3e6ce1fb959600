package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// webauthn reads the passkey settings. Unset, the relying party is the
// local server's: RP id "localhost" (Default), origin
// http://localhost:<port of Addr>.
func (r *reader) webauthn(c *Config) {
	r.str("ROTOR_WEBAUTHN_RP_ID", &c.WebAuthnRPID)
	if v, ok := r.get("ROTOR_WEBAUTHN_ORIGINS"); ok {
		c.WebAuthnOrigins = nil
		for o := range strings.SplitSeq(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.WebAuthnOrigins = append(c.WebAuthnOrigins, o)
			}
		}
	} else {
		port := "3000"
		if _, p, err := net.SplitHostPort(c.Addr); err == nil && p != "" {
			port = p
		}
		c.WebAuthnOrigins = []string{"http://localhost:" + port}
	}
	r.boolean("ROTOR_PASSKEY_ALLOW_COUNTER_REGRESSION", &c.PasskeyAllowCounterRegression)
}

// validateWebAuthn checks the relying party: a domain for RP id, web
// origins.
func (c Config) validateWebAuthn() []error {
	var errs []error
	if c.WebAuthnRPID == "" || strings.ContainsAny(c.WebAuthnRPID, "/:") || net.ParseIP(c.WebAuthnRPID) != nil {
		errs = append(errs, fmt.Errorf("config: ROTOR_WEBAUTHN_RP_ID=%q: want a domain (\"example.com\"), no scheme, port or IP address", c.WebAuthnRPID))
	}
	if len(c.WebAuthnOrigins) == 0 {
		errs = append(errs, fmt.Errorf("config: ROTOR_WEBAUTHN_ORIGINS: want at least one origin"))
	}
	for _, o := range c.WebAuthnOrigins {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("config: ROTOR_WEBAUTHN_ORIGINS: %q: %w", o, err))
		}
	}
	return errs
}

// checkOrigin accepts a web origin: https, or http on localhost; no path.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return err
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Host == "":
		return fmt.Errorf("want scheme://host[:port], nothing else")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && u.Hostname() == "localhost":
		return nil
	}
	return fmt.Errorf("want https (http only on localhost)")
}
