// Package stepup names the routes that need a multi-factor login (step-up
// at the edge, issue 21): method and path patterns read from configuration,
// matched the way IAM matches the Deny statements the authorizer builds from
// them, so API Gateway, the local server and the tests agree on every path.
package stepup
