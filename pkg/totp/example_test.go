package totp_test

import (
	"fmt"
	"time"

	"github.com/rotor-auth/rotor/pkg/totp"
)

// A code is checked against the steps either side of now, and the step it
// matched is what a store accepts once.
func ExampleMatch() {
	at := time.Unix(1111111109, 0)
	code, _ := totp.Code(rfcSecret, at)
	step, ok := totp.Match(rfcSecret, code, at.Add(totp.Period)) // 30 s late: still accepted
	fmt.Println(code, ok, step == totp.Step(at))
	// Output: 081804 true true
}
