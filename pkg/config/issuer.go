package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// IssuerAPIID is the placeholder a deployed function's ROTOR_ISSUER may hold
// where the REST API's id belongs: template.yaml cannot give the functions the
// id of the API that invokes them (the API refers to the functions, so the
// reference would be circular). The function fills it in from the request
// context of its first event and keeps it for its lifetime.
const IssuerAPIID = "{api_id}"

// ErrIssuer reports an issuer that cannot be resolved.
var ErrIssuer = errors.New("config: issuer")

// apiID is the shape of an API Gateway REST API id.
var apiID = regexp.MustCompile(`^[a-z0-9]{10}$`)

// IssuerDeferred reports whether the issuer still waits for the API id.
func (c Config) IssuerDeferred() bool { return strings.Contains(c.Issuer, IssuerAPIID) }

// ResolveIssuer returns the issuer with IssuerAPIID replaced by id, the
// requestContext.apiId API Gateway put in the event. An issuer without the
// placeholder is returned as it is, whatever id is.
func (c Config) ResolveIssuer(id string) (string, error) {
	if !c.IssuerDeferred() {
		return c.Issuer, nil
	}
	if !apiID.MatchString(id) {
		return "", fmt.Errorf("%w: request context has no REST API id (got %q)", ErrIssuer, id)
	}
	return strings.ReplaceAll(c.Issuer, IssuerAPIID, id), nil
}

// checkIssuer accepts what OpenID Connect Discovery §3 and RFC 8414 §2 ask
// of an issuer (an https URL with no query or fragment), plus http on a
// loopback host for local runs.
func checkIssuer(iss string) error {
	u, err := url.Parse(strings.ReplaceAll(iss, IssuerAPIID, "abcdefghij"))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("want an absolute URL such as https://auth.example.com")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(iss, "?#") || u.User != nil {
		return errors.New("an issuer URL has no query, fragment or user info")
	}
	if strings.HasSuffix(u.Path, "/") {
		return errors.New("no trailing slash: endpoints are the issuer followed by /oauth/token and so on")
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return errors.New("http is only allowed on a loopback address; use https")
		}
	default:
		return errors.New("want an https URL")
	}
	if strings.Contains(iss, IssuerAPIID) && !strings.HasPrefix(iss, "https://"+IssuerAPIID+".") {
		return fmt.Errorf("%s may only be the first label of the host", IssuerAPIID)
	}
	return nil
}
