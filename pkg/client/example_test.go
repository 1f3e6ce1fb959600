package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/rotor-auth/rotor/pkg/client"
	"github.com/rotor-auth/rotor/pkg/dpop"
)

// A program logs in once and then calls protected routes through an
// ordinary *http.Client; expired access tokens are refreshed silently.
func ExampleTransport() {
	api := startFakeAPI() // stands in for a deployed Rotor API
	defer api.Close()

	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if err := tr.Login(context.Background(), "alice", "correct horse battery staple"); err != nil {
		log.Fatal(err)
	}
	api.ExpireAccess() // time passes

	resp, err := tr.Client().Get(api.URL + "/me")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var me struct{ Username string }
	json.NewDecoder(resp.Body).Decode(&me)
	fmt.Println(resp.StatusCode, me.Username, "refreshes:", api.RefreshCalls.Load())
	// Output: 200 alice refreshes: 1
}

// When the server refuses the refresh token the session is over: the
// error matches ErrSessionEnded and the program asks the user to log in.
func ExampleErrSessionEnded() {
	api := startFakeAPI()
	defer api.Close()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if err := tr.Login(context.Background(), "alice", "correct horse battery staple"); err != nil {
		log.Fatal(err)
	}
	api.ExpireAccess()
	api.RevokeSessions() // for example, the password was changed elsewhere

	_, err := tr.Client().Get(api.URL + "/me")
	if errors.Is(err, client.ErrSessionEnded) {
		var ended *client.SessionEndedError
		errors.As(err, &ended)
		fmt.Println("please log in again:", ended.Code)
	}
	// Output: please log in again: invalid_grant
}

// A command-line tool keeps its session in a private file between runs.
func ExampleFileStore() {
	api := startFakeAPI()
	defer api.Close()
	dir, err := os.MkdirTemp("", "rotor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store := &client.FileStore{Path: filepath.Join(dir, "tokens.json")}

	first := &client.Transport{BaseURL: api.URL, Store: store}
	if err := first.Login(context.Background(), "alice", "correct horse battery staple"); err != nil {
		log.Fatal(err)
	}

	// A later run reads the same file and is still logged in.
	later := &client.Transport{BaseURL: api.URL, Store: store}
	resp, err := later.Client().Get(api.URL + "/me")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	info, _ := os.Stat(store.Path)
	fmt.Println(resp.StatusCode, info.Mode().Perm())
	// Output: 200 -rw-------
}

// An account with a second factor: the right password gives an
// *MFARequiredError, and VerifyMFA finishes the login with the user's code.
func ExampleTransport_VerifyMFA() {
	api := startFakeAPI()
	defer api.Close()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	ctx := context.Background()

	err := tr.Login(ctx, "dana", "dana's second factor")
	var mfa *client.MFARequiredError
	if !errors.As(err, &mfa) {
		log.Fatal(err)
	}
	fmt.Println("second factor:", mfa.Methods)
	if err := tr.VerifyMFA(ctx, mfa, "246810"); err != nil { // the code the user typed
		log.Fatal(err)
	}
	resp, err := tr.Client().Post(api.URL+"/payments", "application/json", nil) // an MFA route
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// second factor: [otp recovery_code]
	// 200
}

// A program binds its session to a key it holds (DPoP): a copy of its
// tokens is useless without the key. The key must live as long as the
// tokens (a FileStore's session needs the same key on the next run).
func ExampleTransport_dpop() {
	api := startFakeAPI()
	defer api.Close()
	api.DPoP = &dpop.Verifier{Replay: &dpop.Memory{}} // the server's check, as Rotor's with Dpop=optional

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	store := &client.MemoryStore{}
	tr := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: key}
	if err := tr.Login(context.Background(), "alice", "correct horse battery staple"); err != nil {
		log.Fatal(err)
	}
	tok, _ := store.Load(context.Background())
	jkt, _ := dpop.KeyThumbprint(key)
	fmt.Println(tok.TokenType, api.BoundTo(tok.AccessToken) == jkt)

	api.ExpireAccess() // the refresh carries a proof by the same key
	resp, err := tr.Client().Get(api.URL + "/me")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// DPoP true
	// 200
}
