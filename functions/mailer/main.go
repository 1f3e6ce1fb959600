// Command mailer is the mail sender function: it delivers the outbox on
// each new message (DynamoDB Streams) and sweeps it on a schedule. The logic
// is mail.Sender.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/mailerfn"
)

func main() {
	if err := mailerfn.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
