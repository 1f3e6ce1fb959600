package cached_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/cached"
)

func ExampleValue() {
	reads := 0
	secret := &cached.Value[string]{
		// In production Fetch reads Secrets Manager (keys.Fetch, mac.Fetch).
		Fetch: func(context.Context) (string, error) { reads++; return "key material", nil },
		TTL:   5 * time.Minute,
	}
	for range 3 {
		v, err := secret.Get(context.Background())
		fmt.Println(v, err)
	}
	fmt.Println("reads:", reads)
	// Output:
	// key material <nil>
	// key material <nil>
	// key material <nil>
	// reads: 1
}
