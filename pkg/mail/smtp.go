package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// SMTP sends through an SMTP relay (any provider), with github.com/wneessen/go-mail.
type SMTP struct {
	Addr     string // host:port
	Username string // no authentication when empty
	Password string
	// TLS is "starttls" (required, the default), "tls" (implicit TLS, port
	// 465) or "none" (config allows it on a loopback host only).
	TLS       string
	TLSConfig *tls.Config   // nil: the system roots, the relay's host name
	Timeout   time.Duration // per connection; 15 s when 0
}

// Send implements Transport. The message's Message-ID is derived from its
// outbox id, so a resend after a crash carries the same id and receivers
// that collapse duplicates by it show one mail. A 5xx answer is permanent,
// anything else (4xx, a dropped connection) transient.
func (t *SMTP) Send(ctx context.Context, e Email) error {
	host, portStr, err := net.SplitHostPort(t.Addr)
	if err != nil {
		return Permanent(fmt.Errorf("smtp: address %q: %w", t.Addr, err))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return Permanent(fmt.Errorf("smtp: port %q: %w", portStr, err))
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	tlsConfig := t.TLSConfig
	if tlsConfig == nil {
		tlsConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	// go-mail bounds the dial and each send, but not the greeting, STARTTLS
	// and AUTH between them: a relay that accepts the connection and stops
	// answering would hold the sender until the function's own timeout. The
	// dial gives the connection a deadline (the timeout, or the context's
	// if sooner); go-mail moves it on for the send.
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	implicitTLS := t.TLS == "tls"
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := conn.SetDeadline(deadline); err != nil {
			conn.Close()
			return nil, err
		}
		if !implicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{gomail.WithPort(port), gomail.WithTimeout(timeout), gomail.WithDialContextFunc(dial), gomail.WithTLSConfig(tlsConfig)}
	auth := gomail.SMTPAuthAutoDiscover
	switch t.TLS {
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case "tls":
		// The dial made the TLS connection (go-mail's own implicit TLS
		// dials without a deadline), so go-mail has no STARTTLS to do and
		// does not know the connection is encrypted: its discovery would
		// then offer only the challenge mechanisms. PLAIN is what every
		// implicit-TLS submission port takes, and go-mail sends it only
		// over a TLS connection, which this is.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		auth = gomail.SMTPAuthPlain
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if t.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(t.Username), gomail.WithPassword(t.Password))
	}
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return Permanent(fmt.Errorf("smtp: %w", err))
	}
	m, err := message(e)
	if err != nil {
		return Permanent(err)
	}
	err = c.DialAndSendWithContext(ctx, m)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return Permanent(fmt.Errorf("smtp: %w", err))
	}
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	return nil
}

// message builds e as a multipart/alternative mail.
func message(e Email) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(e.From); err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	if err := m.To(e.To); err != nil {
		return nil, fmt.Errorf("smtp: to: %w", err)
	}
	domain := "rotor.invalid"
	if a, err := mail.ParseAddress(e.From); err == nil {
		domain = a.Address[strings.LastIndex(a.Address, "@")+1:]
	}
	m.SetMessageIDWithValue(e.ID + "@" + domain)
	m.SetDate()
	m.Subject(e.Subject)
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	return m, nil
}
