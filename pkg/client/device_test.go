package client_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rotor-auth/rotor/pkg/client"
)

// TestDeviceStoreContract runs the same checks against every DeviceStore.
func TestDeviceStoreContract(t *testing.T) {
	tests := []struct {
		name  string
		store func(t *testing.T) client.DeviceStore
	}{
		{"MemoryDevices", func(*testing.T) client.DeviceStore { return &client.MemoryDevices{} }},
		{"FileDevices", func(t *testing.T) client.DeviceStore {
			return &client.FileDevices{Path: filepath.Join(t.TempDir(), "devices.json")}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := tc.store(t)
			if got, err := s.LoadDevice(ctx, "alice"); err != nil || got != "" {
				t.Fatalf("empty store: %q, %v", got, err)
			}
			for _, save := range [][2]string{{"alice", "rtd_1"}, {"bob", "rtd_2"}, {"Alice ", "rtd_3"}} {
				if err := s.SaveDevice(ctx, save[0], save[1]); err != nil {
					t.Fatal(err)
				}
			}
			for user, want := range map[string]string{"alice": "rtd_3", " ALICE": "rtd_3", "bob": "rtd_2", "carol": ""} {
				if got, err := s.LoadDevice(ctx, user); err != nil || got != want {
					t.Errorf("LoadDevice(%q) = %q, %v; want %q", user, got, err, want)
				}
			}
		})
	}
}

func TestFileDevicesIsPrivateAndLasts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devices.json")
	ctx := context.Background()
	if err := (&client.FileDevices{Path: path}).SaveDevice(ctx, "alice", "rtd_1"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("device file: %v, %v; want mode 0600", fi, err)
	}
	if got, _ := (&client.FileDevices{Path: path}).LoadDevice(ctx, "alice"); got != "rtd_1" {
		t.Fatalf("a new FileDevices on the same file: %q", got)
	}
}

// TestLoginKeepsDeviceToken: Login sends the username's device token from
// Devices, keeps the new one, per username, across a logout.
func TestLoginKeepsDeviceToken(t *testing.T) {
	api := startFakeAPI()
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}, Devices: &client.MemoryDevices{}}
	steps := []struct{ user, pw string }{
		{"alice", alicePassword},
		{"alice", alicePassword},
		{"carol", "carol's own passphrase"},
		{"alice", "wrong"}, // refused: the token is kept as it was
		{"alice", alicePassword},
	}
	for i, st := range steps {
		err := tr.Login(ctx, st.user, st.pw)
		if (err == nil) != (st.pw != "wrong") {
			t.Fatalf("login %d: %v", i, err)
		}
		if i == 1 {
			if err := tr.Logout(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := []string{"", "rtd_fake_alice_1", "", "rtd_fake_alice_2", "rtd_fake_alice_2"}
	if got := api.DevicesSent(); !slices.Equal(got, want) {
		t.Fatalf("device tokens sent: %q; want %q", got, want)
	}
	// Without a DeviceStore nothing is sent.
	plain := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if err := plain.Login(ctx, "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	if got := api.DevicesSent(); got[len(got)-1] != "" {
		t.Fatalf("a transport without Devices sent %q", got[len(got)-1])
	}
}
