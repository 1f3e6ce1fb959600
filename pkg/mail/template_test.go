package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// TestRenderEveryKind: each kind renders text and HTML; the kinds with a
// link put it under the configured app URL with the token in the fragment;
// the others carry no token.
func TestRenderEveryKind(t *testing.T) {
	tpl := newTemplates(t)
	for _, k := range mail.Kinds {
		t.Run(string(k), func(t *testing.T) {
			m := outbox.Message{ID: "msg_1", Kind: k, To: "alice@example.org",
				Data: map[string]string{"ip": "203.0.113.7", "user_agent": "Firefox/140", "at": "2026-12-07T09:00:00Z", "new_email": "new@example.org"}}
			token := ""
			if _, ok := mail.LinkPaths[k]; ok {
				token = "rtr_secret"
			}
			e, err := tpl.Render(m, token)
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject == "" || !strings.Contains(e.Subject, "Example") || e.Text == "" || !strings.Contains(e.HTML, "<html") || e.To != m.To || e.ID != m.ID {
				t.Fatalf("rendered %+v", e)
			}
			if token != "" {
				link := "https://app.example.com" + mail.LinkPaths[k] + "#token=rtr_secret"
				if !strings.Contains(e.Text, link) || !strings.Contains(e.HTML, `href="`+link+`"`) {
					t.Fatalf("link %s missing:\n%s\n%s", link, e.Text, e.HTML)
				}
				if strings.Contains(e.Text, "?token") || strings.Contains(e.HTML, "?token") {
					t.Fatal("the token is in a query string, which browsers send in Referer and servers log")
				}
			}
			if k == outbox.PasswordChanged && (!strings.Contains(e.Text, "203.0.113.7") || !strings.Contains(e.Text, "Firefox/140")) {
				t.Fatalf("a notice must name where it came from:\n%s", e.Text)
			}
		})
	}
}

// TestRenderToken: a token for a kind without a link, or none for a kind
// with one, is refused (ErrNoToken): never a mail with a broken or stray
// link.
func TestRenderToken(t *testing.T) {
	tpl := newTemplates(t)
	for _, tc := range []struct {
		kind  outbox.Kind
		token string
	}{
		{outbox.PasswordReset, ""},
		{outbox.VerifyEmail, ""},
		{outbox.PasswordChanged, "rtr_x"},
		{outbox.Kind("unknown"), ""},
	} {
		_, err := tpl.Render(outbox.Message{ID: "m", Kind: tc.kind, To: "a@example.org"}, tc.token)
		if !errors.Is(err, mail.ErrNoToken) && !errors.Is(err, mail.ErrTemplate) {
			t.Errorf("%s with token %q: %v; want a refusal", tc.kind, tc.token, err)
		}
	}
}

// TestRenderHostileData, as an attacker who controls the user agent (and
// so the notice's fields): no header injection (no line break reaches the
// subject), no markup in the HTML, no bidirectional override to disguise
// the text; the link still points at the configured app URL.
func TestRenderHostileData(t *testing.T) {
	tpl := newTemplates(t)
	ua := "Mozilla\r\nBcc: victim@example.net\r\n\r\n<script>alert(1)</script><a href=\"https://evil.example\">x</a>\u202egnp.exe"
	m := outbox.Message{ID: "m", Kind: outbox.PasswordReset, To: "a@example.org",
		Data: map[string]string{"user_agent": ua, "ip": "<b>1.2.3.4</b>", "host": "evil.example"}}
	e, err := tpl.Render(m, "rtr_t")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{e.Subject, e.Text, e.HTML} {
		if strings.Contains(part, "\r") || strings.Contains(part, "\n\nBcc") || strings.Contains(part, "\u202e") {
			t.Fatalf("a control character got through: %q", part)
		}
	}
	if strings.Contains(e.HTML, "<script") || strings.Contains(e.HTML, `href="https://evil.example"`) || strings.Contains(e.HTML, "<b>1.2.3.4") {
		t.Fatalf("markup from outside reached the HTML:\n%s", e.HTML)
	}
	if !strings.Contains(e.Text, "https://app.example.com/reset-password#token=rtr_t") || strings.Contains(e.Text, "evil.example/reset") {
		t.Fatalf("link not from configuration:\n%s", e.Text)
	}
}

// TestTemplatesOverride: a deployer's file replaces the embedded one of the
// same name; the others stay; a broken override is refused at start.
func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "password_reset.txt"),
		[]byte(`{{define "subject"}}Your ACME reset{{end}}{{define "text"}}Go to {{.Link}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.NewTemplates("ACME", "https://acme.example", "ACME <a@acme.example>", dir)
	if err != nil {
		t.Fatal(err)
	}
	e, err := tpl.Render(outbox.Message{ID: "m", Kind: outbox.PasswordReset, To: "a@example.org"}, "rtr_t")
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Your ACME reset" || e.Text != "Go to https://acme.example/reset-password#token=rtr_t\n" || !strings.Contains(e.HTML, "Choose a new password") {
		t.Fatalf("override: %+v", e)
	}
	if err := os.WriteFile(filepath.Join(dir, "verify_email.html"), []byte(`{{define "html"}}{{.Broken`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mail.NewTemplates("ACME", "https://acme.example", "a@acme.example", dir); !errors.Is(err, mail.ErrTemplate) {
		t.Fatalf("broken override: %v; want ErrTemplate", err)
	}
}

// FuzzRender: whatever the outside fields hold, rendering does not fail,
// and the subject and the fields as rendered hold no control character.
func FuzzRender(f *testing.F) {
	f.Add("Mozilla/5.0", "203.0.113.7", "new@example.org")
	f.Add("a\r\nBcc: x@y", "<script>", "\u202e\x00")
	f.Add(strings.Repeat("é", 500), "", "{{.Link}}")
	tpl := newTemplates(f)
	f.Fuzz(func(t *testing.T, ua, ip, newEmail string) {
		for _, k := range mail.Kinds {
			token := ""
			if _, ok := mail.LinkPaths[k]; ok {
				token = "rtr_t"
			}
			e, err := tpl.Render(outbox.Message{ID: "m", Kind: k, To: "a@example.org",
				Data: map[string]string{"user_agent": ua, "ip": ip, "new_email": newEmail}}, token)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range e.Subject {
				if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
					t.Fatalf("control character %U in subject %q", r, e.Subject)
				}
			}
			if c := mail.Clean(ua); strings.ContainsAny(c, "\r\n\x00") || len([]rune(c)) > 201 {
				t.Fatalf("Clean(%q) = %q", ua, c)
			}
		}
	})
}
