// Command rotatekey is the Secrets Manager rotation function of the signing
// key: each rotation makes a new key current. The logic is keys.Rotator.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/rotationfn"
)

func main() {
	if err := rotationfn.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
