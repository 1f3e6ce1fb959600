package keys_test

import (
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/keys"
)

// A rotation at 12:00 with a 15 minute activation delay: the new key is
// published at once, the previous key signs until 12:15.
func ExampleSet_Signing() {
	rotated := time.Date(2031, 3, 14, 12, 0, 0, 0, time.UTC)
	old := keys.Key{ID: "old"}
	set := keys.Set{
		Current:  keys.Key{ID: "new", SignAfter: rotated.Add(15 * time.Minute)},
		Previous: &old,
	}
	for _, at := range []time.Duration{0, 14 * time.Minute, 15 * time.Minute} {
		fmt.Println(rotated.Add(at).Format("15:04"), set.Signing(rotated.Add(at)).ID)
	}
	// Output:
	// 12:00 old
	// 12:14 old
	// 12:15 new
}
