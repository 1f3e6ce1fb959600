package apierr_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

func TestFromHidesInternalErrors(t *testing.T) {
	secret := errors.New(`dynamodb: GetItem rotor-users: AccessDeniedException: arn:aws:iam::123456789012:role/x password_hash=$argon2id$...`)
	tests := []struct {
		name string
		err  error
	}{
		{"plain error", secret},
		{"wrapped error", fmt.Errorf("users: get ada: %w", secret)},
		{"nil", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := apierr.From(tc.err)
			if e.Status != http.StatusInternalServerError || e.Code != "server_error" {
				t.Errorf("From = %d %s; want 500 server_error", e.Status, e.Code)
			}
			if e.Description != apierr.Internal.Description {
				t.Errorf("description %q; want the generic %q", e.Description, apierr.Internal.Description)
			}
			for _, leak := range []string{"dynamodb", "AccessDenied", "arn:", "argon2id"} {
				if strings.Contains(e.Description, leak) || strings.Contains(e.Code, leak) {
					t.Errorf("public fields leak %q: %q %q", leak, e.Code, e.Description)
				}
			}
			if tc.err != nil && !errors.Is(e, secret) {
				t.Error("the cause is not kept for the log")
			}
		})
	}
	if apierr.Internal.Cause != nil {
		t.Errorf("From modified apierr.Internal: cause %v", apierr.Internal.Cause)
	}
}

func TestFromKeepsAPIErrors(t *testing.T) {
	cause := errors.New("sessions: token reused")
	grant := apierr.InvalidGrant.With(cause)
	tests := []struct {
		name string
		err  error
		want *apierr.Error
	}{
		{"API error", grant, grant},
		{"wrapped API error", fmt.Errorf("refresh: %w", grant), grant},
		{"contract value", apierr.TooManyAttempts, apierr.TooManyAttempts},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apierr.From(tc.err); got != tc.want {
				t.Errorf("From = %+v; want %+v", got, tc.want)
			}
		})
	}
	if !errors.Is(grant, cause) {
		t.Error("With does not wrap the cause")
	}
}

func TestWithAndDescribeCopy(t *testing.T) {
	before := *apierr.InvalidRequest
	d := apierr.InvalidRequest.Describe("password must be %d to %d bytes", 8, 128).With(errors.New("too short"))
	if d.Description != "password must be 8 to 128 bytes" || d.Status != http.StatusBadRequest || d.Code != "invalid_request" {
		t.Errorf("Describe = %+v", d)
	}
	if !reflect.DeepEqual(*apierr.InvalidRequest, before) {
		t.Errorf("Describe/With modified apierr.InvalidRequest: %+v", *apierr.InvalidRequest)
	}
}

func TestHeadersRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string // "" : no header
	}{
		{0, ""},
		{-time.Second, ""},
		{time.Nanosecond, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Nanosecond, "2"},
		{1500 * time.Millisecond, "2"},
		{59*time.Second + 1, "60"},
		{15 * time.Minute, "900"},
	}
	for _, tc := range tests {
		t.Run(tc.wait.String(), func(t *testing.T) {
			e := *apierr.TooManyAttempts
			e.RetryAfter = tc.wait
			h := e.Headers()
			if tc.want == "" {
				if len(h) != 0 {
					t.Errorf("Headers = %v; want none", h)
				}
				return
			}
			if h["Retry-After"] != tc.want || len(h) != 1 {
				t.Errorf("Headers = %v; want Retry-After: %s", h, tc.want)
			}
		})
	}
}

func TestContractStatuses(t *testing.T) {
	tests := []struct {
		err    *apierr.Error
		status int
		code   string
	}{
		{apierr.InvalidRequest, 400, "invalid_request"},
		{apierr.InvalidCredentials, 401, "invalid_credentials"},
		{apierr.InvalidGrant, 401, "invalid_grant"},
		{apierr.InvalidToken, 401, "invalid_token"},
		{apierr.UsernameTaken, 409, "username_taken"},
		{apierr.TooManyAttempts, 429, "too_many_attempts"},
		{apierr.UnsupportedMediaType, 415, "unsupported_media_type"},
		{apierr.Internal, 500, "server_error"},
	}
	for _, tc := range tests {
		if tc.err.Status != tc.status || tc.err.Code != tc.code {
			t.Errorf("%s = %d; want %d %s", tc.err.Code, tc.err.Status, tc.status, tc.code)
		}
	}
}
