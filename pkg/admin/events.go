package admin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// LogsAPI is the part of CloudWatch Logs that rotor events reads.
type LogsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Functions are the stack's functions; each logs to /rotor/<stack>/<name>.
var Functions = []string{"signup", "login", "refresh", "logout", "jwks", "me", "sessions", "password", "email", "recovery", "mfa", "passkeys", "authorizer", "token", "revoke", "discovery", "rotatekey"}

// LogGroups names the log groups template.yaml gives the functions of stack.
func LogGroups(stack string) []string {
	out := make([]string, len(Functions))
	for i, f := range Functions {
		out[i] = "/rotor/" + stack + "/" + f
	}
	return out
}

// EventCount summarises one kind of event.
type EventCount struct {
	Event string    `json:"event"`
	Count int       `json:"count"`
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Top is the most frequent reason, source address or user of the event,
	// as "key=value (n)".
	Top string `json:"top,omitempty"`
}

// Summary counts the events of JSON log lines. The zero value is ready to use.
type Summary struct {
	counts map[string]*EventCount
	tops   map[string]map[string]int
}

// Add counts one log line if it is a JSON object with an "event" field
// and a time at or after since; other lines (Lambda's START/REPORT) are skipped.
func (s *Summary) Add(line []byte, at, since time.Time) {
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return
	}
	ev, _ := m["event"].(string)
	if ev == "" {
		return
	}
	if ts, ok := m["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			at = t
		}
	}
	if at.Before(since) {
		return
	}
	if s.counts == nil {
		s.counts, s.tops = map[string]*EventCount{}, map[string]map[string]int{}
	}
	c := s.counts[ev]
	if c == nil {
		c = &EventCount{Event: ev, First: at, Last: at}
		s.counts[ev] = c
		s.tops[ev] = map[string]int{}
	}
	c.Count++
	if at.Before(c.First) {
		c.First = at
	}
	if at.After(c.Last) {
		c.Last = at
	}
	for _, k := range []string{"reason", "ip", "user_id"} {
		if v, ok := m[k].(string); ok && v != "" {
			s.tops[ev][k+"="+v]++
			break
		}
	}
}

// Counts returns the events, most frequent first.
func (s *Summary) Counts() []EventCount {
	out := make([]EventCount, 0, len(s.counts))
	for ev, c := range s.counts {
		best, n := "", 0
		for k, v := range s.tops[ev] {
			if v > n || (v == n && k < best) {
				best, n = k, v
			}
		}
		if best != "" {
			c.Top = fmt.Sprintf("%s (%d)", best, n)
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Event < out[j].Event
	})
	return out
}

// FromFile counts the events of a local log (rotor-local's JSON lines).
func FromFile(r io.Reader, since time.Time) ([]EventCount, error) {
	var s Summary
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		s.Add(sc.Bytes(), time.Time{}, since)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("admin: read log: %w", err)
	}
	return s.Counts(), nil
}

// eventPattern (a plain term: lines containing "event") keeps CloudWatch
// from sending most other lines, such as Lambda's START and REPORT; Add
// then keeps only the JSON lines with an event field.
const eventPattern = `"event"`

// FromCloudWatch counts the events of the given log groups since then, every
// page of FilterLogEvents. A log group that does not exist is skipped (a
// function never invoked has none).
func FromCloudWatch(ctx context.Context, api LogsAPI, groups []string, since time.Time) ([]EventCount, error) {
	var s Summary
	for _, g := range groups {
		in := &cloudwatchlogs.FilterLogEventsInput{
			LogGroupName:  aws.String(g),
			StartTime:     aws.Int64(since.UnixMilli()),
			FilterPattern: aws.String(eventPattern),
		}
		for {
			out, err := api.FilterLogEvents(ctx, in)
			if err != nil {
				if isNotFound(err) {
					break
				}
				return nil, fmt.Errorf("admin: read %s: %w", g, err)
			}
			for _, e := range out.Events {
				s.Add([]byte(aws.ToString(e.Message)), time.UnixMilli(aws.ToInt64(e.Timestamp)).UTC(), since)
			}
			if out.NextToken == nil || aws.ToString(out.NextToken) == aws.ToString(in.NextToken) {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	return s.Counts(), nil
}
