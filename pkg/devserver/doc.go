// Package devserver serves Rotor's API over plain net/http the way API Gateway
// would: each request becomes the same REST proxy event the Lambda functions
// receive, protected routes go through the same authorizer first, and a
// refused token gets the same 401 gateway response.
package devserver
