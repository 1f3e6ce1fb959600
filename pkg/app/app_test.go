package app_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/config"
)

func TestLambdaAWS(t *testing.T) {
	lambdaEnv := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "session",
	}
	with := func(extra map[string]string, drop ...string) map[string]string {
		m := map[string]string{}
		for k, v := range lambdaEnv {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	tests := []struct {
		name         string
		env          map[string]string
		wantErr      bool
		wantRegion   string
		wantEndpoint string
	}{
		{name: "as Lambda sets it", env: lambdaEnv, wantRegion: "eu-west-1"},
		{name: "empty endpoint (template default) ignored", env: with(map[string]string{"AWS_ENDPOINT_URL": ""}), wantRegion: "eu-west-1"},
		{name: "local endpoint", env: with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}), wantRegion: "eu-west-1", wantEndpoint: "http://127.0.0.1:5000"},
		{name: "default region", env: with(map[string]string{"AWS_DEFAULT_REGION": "us-east-2"}, "AWS_REGION"), wantRegion: "us-east-2"},
		{name: "no region", env: with(nil, "AWS_REGION"), wantErr: true},
		{name: "no key id", env: with(nil, "AWS_ACCESS_KEY_ID"), wantErr: true},
		{name: "no secret", env: with(nil, "AWS_SECRET_ACCESS_KEY"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := app.LambdaAWS(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, config.Default())
			if tc.wantErr {
				if err == nil {
					t.Fatal("LambdaAWS accepted an environment without credentials or region")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Retryer == nil || c.HTTPClient == nil {
				t.Error("no retryer or HTTP client: the store deadline's retries and timeouts are lost")
			}
			if c.Region != tc.wantRegion || aws.ToString(c.BaseEndpoint) != tc.wantEndpoint {
				t.Errorf("region %q endpoint %q; want %q %q", c.Region, aws.ToString(c.BaseEndpoint), tc.wantRegion, tc.wantEndpoint)
			}
			creds, err := c.Credentials.Retrieve(t.Context())
			if err != nil || creds.AccessKeyID != "AKID" || creds.SecretAccessKey != "secret" || creds.SessionToken != tc.env["AWS_SESSION_TOKEN"] {
				t.Errorf("credentials %+v, %v", creds, err)
			}
		})
	}
}
