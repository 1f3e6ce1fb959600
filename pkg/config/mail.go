package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// mail reads the mail settings.
func (r *reader) mail(c *Config) {
	r.str("ROTOR_OUTBOX_TABLE", &c.OutboxTable)
	r.str("ROTOR_APP_URL", &c.AppURL)
	r.str("ROTOR_PRODUCT_NAME", &c.ProductName)
	r.str("ROTOR_MAIL_FROM", &c.MailFrom)
	r.str("ROTOR_MAIL_TRANSPORT", &c.MailTransport)
	r.str("ROTOR_MAIL_TEMPLATES", &c.MailTemplates)
	r.str("ROTOR_SES_IDENTITY_ARN", &c.SESIdentityARN)
	r.str("ROTOR_SMTP_ADDR", &c.SMTPAddr)
	r.str("ROTOR_SMTP_USERNAME", &c.SMTPUsername)
	r.str("ROTOR_SMTP_PASSWORD", &c.SMTPPassword)
	r.str("ROTOR_SMTP_SECRET_ID", &c.SMTPSecretID)
	r.str("ROTOR_SMTP_TLS", &c.SMTPTLS)
	r.integer("ROTOR_MAIL_MAX_ATTEMPTS", &c.MailMaxAttempts)
	r.dur("ROTOR_MAIL_BACKOFF_BASE", &c.MailBackoffBase)
	r.dur("ROTOR_MAIL_BACKOFF_MAX", &c.MailBackoffMax)
}

// validateMail reports the mail settings out of range.
func (c Config) validateMail() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("config: "+format, args...)) }
	if err := checkAppURL(c.AppURL); err != nil {
		bad("ROTOR_APP_URL=%q: %v", c.AppURL, err)
	}
	if strings.TrimSpace(c.ProductName) == "" || strings.ContainsAny(c.ProductName, "\r\n") {
		bad("ROTOR_PRODUCT_NAME=%q: want one line of text", c.ProductName)
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "\r\n") {
		bad("ROTOR_MAIL_FROM=%q: want an address such as \"Example <no-reply@example.com>\"", c.MailFrom)
	}
	switch c.MailTransport {
	case "mailbox", "ses":
	case "smtp":
		host, _, err := net.SplitHostPort(c.SMTPAddr)
		if err != nil || host == "" {
			bad("ROTOR_MAIL_TRANSPORT=smtp needs ROTOR_SMTP_ADDR=host:port")
		}
		switch c.SMTPTLS {
		case "starttls", "tls":
		case "none":
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				bad("ROTOR_SMTP_TLS=none is only allowed on a loopback host")
			}
		default:
			bad("ROTOR_SMTP_TLS=%q: want starttls, tls or none", c.SMTPTLS)
		}
		if c.SMTPSecretID != "" && (c.SMTPUsername != "" || c.SMTPPassword != "") {
			bad("ROTOR_SMTP_SECRET_ID and ROTOR_SMTP_USERNAME/ROTOR_SMTP_PASSWORD: set the secret or the two values, not both")
		}
	default:
		bad("ROTOR_MAIL_TRANSPORT=%q: want ses, smtp or mailbox", c.MailTransport)
	}
	if c.MailMaxAttempts < 1 || c.MailMaxAttempts > 100 {
		bad("ROTOR_MAIL_MAX_ATTEMPTS=%d: want between 1 and 100", c.MailMaxAttempts)
	}
	if c.MailBackoffBase <= 0 || c.MailBackoffMax < c.MailBackoffBase || c.MailBackoffMax > 24*time.Hour {
		bad("ROTOR_MAIL_BACKOFF_BASE=%s and ROTOR_MAIL_BACKOFF_MAX=%s: want 0 < base <= max <= 24h", c.MailBackoffBase, c.MailBackoffMax)
	}
	return errs
}

// checkAppURL accepts the base of mail links: an https URL (http on a
// loopback host for local runs) with no query, fragment or user info, since
// a link appends a path and the token's fragment.
func checkAppURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("want an absolute URL such as https://app.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") || u.User != nil {
		return errors.New("no query, fragment or user info")
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("http is only allowed on a loopback address; use https")
		}
	default:
		return errors.New("want an https URL")
	}
	return nil
}
