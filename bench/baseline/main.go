// Command baseline is the smallest Go Lambda function: it answers every event
// with a constant. scripts/coldstart.sh builds it as the Makefile builds the
// functions and measures it beside them, so their sizes and cold starts read
// as ratios to what any Go Lambda costs.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context) (string, error) { return "ok", nil })
}
