package client_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/onetime"
)

// localAPI is the real Rotor API as the local server runs it (the
// functions' handlers and authorizer on the embedded store, development
// keys), with its mail sender delivering into a mailbox: what the account
// calls are tested and shown against.
type localAPI struct {
	*httptest.Server
	mailer *devserver.Mailer
}

func startLocalAPI(opts ...func(*config.Config)) *localAPI {
	cfg := config.Default()
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := devserver.Memory(cfg, log)
	if err != nil {
		panic(err)
	}
	api, err := apifn.API(cfg, d)
	if err != nil {
		panic(err)
	}
	mailer, err := devserver.NewMailer(cfg, d.Store, onetime.Minter{MAC: d.MAC}, log)
	if err != nil {
		panic(err)
	}
	authz := authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, log)
	srv := httptest.NewServer((&devserver.Server{API: api, Authorizer: authz, Log: log}).Handler())
	return &localAPI{Server: srv, mailer: mailer}
}

var mailLink = regexp.MustCompile(`https?://\S+#token=[A-Za-z0-9_-]+`)

// link delivers the mail waiting in the outbox (the sender's sweep) and
// returns the link of the newest mail to to whose token has prefix, or "".
func (a *localAPI) link(to, prefix string) string {
	if _, err := a.mailer.Sender.Sweep(context.Background(), time.Now()); err != nil {
		panic(err)
	}
	for _, m := range a.mailer.Box.List(to) {
		for _, l := range mailLink.FindAllString(m.Text, -1) {
			if strings.Contains(l, "#token="+prefix) {
				return l
			}
		}
	}
	return ""
}

// mails is how many mails to to were delivered.
func (a *localAPI) mails(to string) int { return len(a.mailer.Box.List(to)) }
