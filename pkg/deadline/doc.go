// Package deadline bounds one request's store and key calls inside the Lambda
// invocation's own deadline. It is apart from pkg/httpapi so the authorizer
// can use it without linking the HTTP API.
package deadline
