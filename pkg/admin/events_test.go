package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwltypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/admin"
)

// allLines joins the log lines the flows wrote, as one local log file.
func allLines(l logs) []string {
	var out []string
	for _, b := range l {
		for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			if line != "" {
				out = append(out, line)
			}
		}
	}
	return out
}

func countsOf(cs []admin.EventCount) map[string]int {
	m := map[string]int{}
	for _, c := range cs {
		m[c.Event] = c.Count
	}
	return m
}

// TestEventsFromFile: rotor events --file counts the events of real log
// lines (the flows' own), skips lines that are not events and lines older
// than --since.
func TestEventsFromFile(t *testing.T) {
	l := runFlows(t)
	lines := append(allLines(l), "START RequestId: 1 Version: $LATEST", `{"time":"2000-01-01T00:00:00Z","event":"login_failed"}`)
	var out bytes.Buffer
	c := &admin.CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		OpenFile: func(string) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(strings.Join(lines, "\n"))), nil
		}}
	if code := c.Run(context.Background(), []string{"events", "--file", "rotor.log", "--since", "1h", "--json"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got []admin.EventCount
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	m := countsOf(got)
	// What runFlows did: bob's 12 wrong passwords (login and token
	// endpoint) are 6 counted failures and 6 throttled, plus one throttled
	// password change; two reuses (refresh and token endpoint); carol's
	// replayed code (a failure under her MFA counter) and 6 wrong codes: 4
	// checked before the limit of 5, then 2 throttled; erin's replayed code
	// and wrong code through the token function; dave's two steps after the
	// emergency MAC rotation; alice's password token on an MFA route.
	for ev, want := range map[string]int{"login_failed": 6, "login_throttled": 9, "reuse_detected": 2, "refresh_token_forged": 4, "authorizer_error": 1, "token_refused": 1, "mfa_replayed": 2, "mfa_failed": 5, "mfa_key_gone": 2, "step_up_required": 1} {
		if m[ev] != want {
			t.Errorf("%s: %d, want %d (all: %v)", ev, m[ev], want, m)
		}
	}
	out.Reset()
	if code := c.Run(context.Background(), []string{"events", "--file", "rotor.log"}); code != 0 || !strings.HasPrefix(out.String(), "EVENT") || !strings.Contains(out.String(), "login_failed") {
		t.Fatalf("table: %d\n%s", code, out.String())
	}
	if code := c.Run(context.Background(), []string{"events"}); code != admin.ExitUsage {
		t.Fatalf("events without --stack or --file: exit %d", code)
	}
}

// TestEventsFromCloudWatch on moto: the events of every function's log
// group, paged, a missing group skipped.
func TestEventsFromCloudWatch(t *testing.T) {
	ctx := testenv.Context(t)
	cw := cloudwatchlogs.NewFromConfig(testenv.AWSConfig(testenv.MotoURL(t)))
	stack := strings.TrimPrefix(testenv.Name(t, "stack"), "rotor-")
	now := time.Now().UTC()
	put := func(group string, msgs ...string) {
		if _, err := cw.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		var evs []cwltypes.InputLogEvent
		for _, m := range msgs {
			evs = append(evs, cwltypes.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(now.UnixMilli())})
		}
		if _, err := cw.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	put("/rotor/"+stack+"/login",
		`{"level":"WARN","msg":"login failed","event":"login_failed","ip":"203.0.113.5"}`,
		`{"level":"WARN","msg":"login failed","event":"login_failed","ip":"203.0.113.5"}`,
		"REPORT RequestId: 1 Duration: 3 ms")
	put("/rotor/"+stack+"/refresh", `{"level":"WARN","msg":"refresh token reused; session revoked","event":"reuse_detected","user_id":"usr_1"}`)
	got, err := admin.FromCloudWatch(ctx, cw, admin.LogGroups(stack), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m := countsOf(got)
	if m["login_failed"] != 2 || m["reuse_detected"] != 1 || len(m) != 2 {
		t.Fatalf("counts %v", m)
	}
	if got[0].Event != "login_failed" || got[0].Top != "ip=203.0.113.5 (2)" {
		t.Fatalf("first row %+v", got[0])
	}
}

// TestEventsTableEscapes: a log line is outside input (anyone who reaches a
// function chooses some of what it logs); the table never writes its control
// characters, an event name's included, to the operator's terminal.
func TestEventsTableEscapes(t *testing.T) {
	line := `{"time":"2030-01-01T00:00:00Z","event":"evil\u001b]0;owned\u0007\u202e","username":"x\u001b[2J"}`
	var out bytes.Buffer
	c := &admin.CLI{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard,
		OpenFile: func(string) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(line)), nil }}
	if code := c.Run(context.Background(), []string{"events", "--file", "rotor.log", "--since", "87600h"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.ContainsAny(out.String(), "\x1b\x07\u202e") || !strings.Contains(out.String(), "evil?]0;owned??") {
		t.Fatalf("table wrote control characters or lost the event: %q", out.String())
	}
}
