package testenv

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SMTPRelay is a private SMTP server of one test.
type SMTPRelay struct {
	Addr string // 127.0.0.1:port
	Dir  string // where it writes each mail it accepts, as <n>.eml
	// TLS trusts the relay's certificate (nil: the relay has none).
	TLS *tls.Config
}

// SMTPServer starts pkg/mail/testdata/smtpd.py (Debian's python3-aiosmtpd)
// on a free loopback port for the test. A non-empty auth, "user:password",
// makes it a provider's submission port: STARTTLS required (with a
// certificate for 127.0.0.1 made here, which Relay.TLS trusts), then AUTH
// with exactly those credentials. It fails the test, never skips, without
// aiosmtpd.
func SMTPServer(t testing.TB, auth string) SMTPRelay {
	t.Helper()
	return smtpServer(t, auth, false)
}

// SMTPServerImplicitTLS is SMTPServer speaking TLS from the first byte (a
// port 465 relay), then requiring AUTH with auth, "user:password".
func SMTPServerImplicitTLS(t testing.TB, auth string) SMTPRelay {
	t.Helper()
	return smtpServer(t, auth, true)
}

func smtpServer(t testing.TB, auth string, implicit bool) SMTPRelay {
	t.Helper()
	python := ""
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import aiosmtpd").Run() == nil {
			python = p
			break
		}
	}
	if python == "" {
		t.Fatal("the SMTP tests need aiosmtpd: apt-get install -y python3-aiosmtpd")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := SMTPRelay{Addr: l.Addr().String(), Dir: t.TempDir()}
	l.Close()
	_, port, _ := net.SplitHostPort(r.Addr)
	args := []string{filepath.Join(RepoRoot(), "pkg", "mail", "testdata", "smtpd.py"), "127.0.0.1", port, r.Dir}
	if auth != "" {
		cert, key, roots := selfSigned(t)
		args = append(args, auth, cert, key)
		if implicit {
			args = append(args, "implicit")
		}
		r.TLS = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	cmd := exec.Command(python, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("smtpd.py did not start: %q, %v", line, err)
	}
	return r
}

// selfSigned writes a certificate for 127.0.0.1 and its key (PEM files in a
// temporary directory) and returns their paths and a pool trusting it.
func selfSigned(t testing.TB) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
