package client_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/client"
)

// BenchmarkTransportRequest is one GET through the Transport to a loopback
// server that answers 200 without checking anything: the client's own cost
// per request, bearer against DPoP (a P-256 proof signed per request).
func BenchmarkTransportRequest(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name      string
		tokenType string
		dpop      bool
	}{{"bearer", "Bearer", false}, {"dpop", "DPoP", true}} {
		b.Run(tc.name, func(b *testing.B) {
			store := &client.MemoryStore{}
			store.Save(context.Background(), client.Tokens{AccessToken: fakeJWT(time.Now().Add(time.Hour), 1), RefreshToken: "rt", TokenType: tc.tokenType})
			tr := &client.Transport{BaseURL: srv.URL, Store: store}
			if tc.dpop {
				tr.DPoPKey = p256Key(b)
			}
			hc := tr.Client()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := hc.Get(srv.URL + "/me")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
