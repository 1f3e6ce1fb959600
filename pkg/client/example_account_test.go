package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/rotor-auth/rotor/pkg/client"
)

// A user signs up with an address and opens the link of the verification
// mail; the page (or a CLI the link was pasted into) passes its token on.
func ExampleTransport_VerifyEmail() {
	api := startLocalAPI() // the real API, mail delivered to a local mailbox
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}

	if _, err := tr.Signup(ctx, "alice", "Pw-correct-horse-1", "alice@example.com"); err != nil {
		log.Fatal(err)
	}
	link := api.link("alice@example.com", "rtv_") // what the user clicks
	token, err := client.LinkToken(link)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tr.VerifyEmail(ctx, token))
	// A link is used once.
	var apiErr *client.APIError
	if errors.As(tr.VerifyEmail(ctx, token), &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	// Output:
	// <nil>
	// 400 invalid_link_token
}

// A user who forgot the password asks for a reset mail, opens its link and
// sets a new password; every older session has ended, and the new password
// logs in.
func ExampleTransport_ResetPassword() {
	api := startLocalAPI()
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if _, err := tr.Signup(ctx, "bob", "Pw-correct-horse-1", "bob@example.com"); err != nil {
		log.Fatal(err)
	}
	verify, _ := client.LinkToken(api.link("bob@example.com", "rtv_"))
	if err := tr.VerifyEmail(ctx, verify); err != nil { // reset mail goes to verified addresses only
		log.Fatal(err)
	}

	// The same answer whether or not the account exists.
	if err := tr.ForgotPassword(ctx, "bob", ""); err != nil {
		log.Fatal(err)
	}
	reset, err := client.LinkToken(api.link("bob@example.com", "rtp_"))
	if err != nil {
		log.Fatal(err)
	}
	if err := tr.ResetPassword(ctx, reset, "Pw-a-new-passphrase-2"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(tr.Login(ctx, "bob", "Pw-a-new-passphrase-2"))
	// Output: <nil>
}

// A logged-in user moves to a new address: the change applies when the
// link mailed to the new address is opened.
func ExampleTransport_ChangeEmail() {
	api := startLocalAPI()
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if _, err := tr.Signup(ctx, "carol", "Pw-correct-horse-1", ""); err != nil {
		log.Fatal(err)
	}
	if err := tr.Login(ctx, "carol", "Pw-correct-horse-1"); err != nil {
		log.Fatal(err)
	}
	if err := tr.ChangeEmail(ctx, "Pw-correct-horse-1", "carol@example.com"); err != nil {
		log.Fatal(err)
	}
	token, _ := client.LinkToken(api.link("carol@example.com", "rtc_"))
	fmt.Println(tr.VerifyEmail(ctx, token))
	// Output: <nil>
}
