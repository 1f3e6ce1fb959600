package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"net/url"
	"os"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/rotor-auth/rotor/pkg/outbox"
)

//go:embed templates/*.txt templates/*.html
var embedded embed.FS

// Kinds is every kind of message the templates must cover.
var Kinds = []outbox.Kind{
	outbox.VerifyEmail, outbox.PasswordReset, outbox.SignupAttempt,
	outbox.PasswordChanged, outbox.PasswordWasReset, outbox.EmailChanged,
	outbox.FactorAdded, outbox.FactorRemoved, outbox.RecoveryCodeUsed,
}

// LinkPaths are the pages of the app (under the app URL) that the links of
// the kinds carrying a token open; the token follows in the fragment,
// "#token=...", which browsers never send in a request or a Referer.
var LinkPaths = map[outbox.Kind]string{
	outbox.VerifyEmail:   "/verify-email",
	outbox.PasswordReset: "/reset-password",
}

// Errors of the templates.
var (
	// ErrTemplate: a template is missing or does not parse or run.
	ErrTemplate = errors.New("mail: template")
	// ErrNoToken: a kind whose link needs a token got none, or a kind
	// without a link got one.
	ErrNoToken = errors.New("mail: link token missing or unexpected")
)

// maxField bounds each template field from outside (a user agent).
const maxField = 200

// Templates renders messages: text and HTML per kind, embedded in the
// binary, overridable file by file from a deployer's directory. Links are
// built from AppURL alone, never from a request. Build it with
// NewTemplates.
type Templates struct {
	Product string // the product name the mails use
	AppURL  string // the base of every link (configuration, never a Host header)
	From    string // the sender address
	text    map[outbox.Kind]*texttemplate.Template
	html    map[outbox.Kind]*htmltemplate.Template
}

// NewTemplates parses the templates of every kind: the embedded ones, each
// replaced by the file of the same name in dir when dir is not empty.
func NewTemplates(product, appURL, from, dir string) (*Templates, error) {
	base, _ := fs.Sub(embedded, "templates")
	read := func(name string) (string, error) {
		if dir != "" {
			b, err := os.ReadFile(dir + "/" + name)
			if err == nil {
				return string(b), nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%w: %v", ErrTemplate, err)
			}
		}
		b, err := fs.ReadFile(base, name)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v", ErrTemplate, name, err)
		}
		return string(b), nil
	}
	t := &Templates{Product: product, AppURL: strings.TrimSuffix(appURL, "/"), From: from,
		text: map[outbox.Kind]*texttemplate.Template{}, html: map[outbox.Kind]*htmltemplate.Template{}}
	parts := map[string]string{}
	for _, name := range []string{"layout.html", "notice.html", "notice.txt"} {
		s, err := read(name)
		if err != nil {
			return nil, err
		}
		parts[name] = s
	}
	for _, k := range Kinds {
		txt, err := read(string(k) + ".txt")
		if err != nil {
			return nil, err
		}
		html, err := read(string(k) + ".html")
		if err != nil {
			return nil, err
		}
		tt, err := texttemplate.New(string(k)).Option("missingkey=zero").Parse(parts["notice.txt"] + txt)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.txt: %v", ErrTemplate, k, err)
		}
		ht, err := htmltemplate.New(string(k)).Option("missingkey=zero").Parse(parts["layout.html"] + parts["notice.html"] + html)
		if err != nil {
			return nil, fmt.Errorf("%w: %s.html: %v", ErrTemplate, k, err)
		}
		for _, name := range []string{"subject", "text"} {
			if tt.Lookup(name) == nil {
				return nil, fmt.Errorf("%w: %s.txt defines no %q", ErrTemplate, k, name)
			}
		}
		if ht.Lookup("html") == nil {
			return nil, fmt.Errorf("%w: %s.html defines no \"html\"", ErrTemplate, k)
		}
		t.text[k], t.html[k] = tt, ht
	}
	return t, nil
}

// view is what a template sees.
type view struct {
	Product string
	AppURL  string
	Link    string // the app URL, path and "#token=..." for the kinds with a token
	To      string
	Subject string            // the rendered subject (the HTML title)
	Data    map[string]string // from outside: cleaned, bounded, escaped by html/template
}

// Render renders m, with token in its link when its kind carries one.
func (t *Templates) Render(m outbox.Message, token string) (Email, error) {
	tt, ok := t.text[m.Kind]
	if !ok {
		return Email{}, fmt.Errorf("%w: no template for kind %q", ErrTemplate, m.Kind)
	}
	v := view{Product: t.Product, AppURL: t.AppURL, To: m.To, Data: make(map[string]string, len(m.Data))}
	for k, val := range m.Data {
		v.Data[k] = Clean(val)
	}
	path, linked := LinkPaths[m.Kind]
	switch {
	case linked != (token != ""):
		return Email{}, fmt.Errorf("%w: kind %q", ErrNoToken, m.Kind)
	case linked:
		v.Link = t.AppURL + path + "#token=" + url.QueryEscape(token)
	default:
		v.Link = t.AppURL
	}
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Email{}, fmt.Errorf("%w: %s subject: %v", ErrTemplate, m.Kind, err)
	}
	v.Subject = strings.Join(strings.Fields(Clean(subj.String())), " ")
	if err := tt.ExecuteTemplate(&text, "text", v); err != nil {
		return Email{}, fmt.Errorf("%w: %s text: %v", ErrTemplate, m.Kind, err)
	}
	if err := t.html[m.Kind].ExecuteTemplate(&html, "layout", v); err != nil {
		return Email{}, fmt.Errorf("%w: %s html: %v", ErrTemplate, m.Kind, err)
	}
	return Email{ID: m.ID, From: t.From, To: m.To, Subject: v.Subject, Text: strings.TrimSpace(text.String()) + "\n", HTML: html.String()}, nil
}

// Clean makes a field from outside safe to put in a mail: control and
// format characters (line breaks that would start a header, bidirectional
// overrides that would disguise a text) become spaces, and it is cut to a
// bounded length.
func Clean(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxField {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
