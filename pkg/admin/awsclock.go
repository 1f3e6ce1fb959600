package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// ErrNoAWSTime means no AWS response has told the time, and asking failed.
var ErrNoAWSTime = errors.New("admin: no time from AWS")

// AWSClock tells the present by AWS's clock, not the operator's: every
// response of an SDK client whose HTTP client it wraps (HTTPClient) carries
// a Date header, from which it keeps the offset of this machine's clock.
// rotor revoke-all takes its time from it, so a laptop two minutes slow does
// not spare the sessions of the last two minutes.
//
// Date has a resolution of one second and was stamped somewhere between
// sending and receiving, so the true time lies within one second and one
// round trip; Now gives the upper end: never behind AWS's clock, at most
// that much ahead of it.
type AWSClock struct {
	// Local is this machine's clock (time.Now when nil).
	Local func() time.Time

	mu     sync.Mutex
	offset time.Duration // AWS's time minus Local, upper bound
	seen   bool
}

func (c *AWSClock) local() time.Time {
	if c.Local != nil {
		return c.Local()
	}
	return time.Now()
}

// HTTPClient returns next (the SDK's default client when nil) recording the
// Date of every response: set it as aws.Config.HTTPClient.
func (c *AWSClock) HTTPClient(next aws.HTTPClient) aws.HTTPClient {
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	return datedClient{next: next, clock: c}
}

type datedClient struct {
	next  aws.HTTPClient
	clock *AWSClock
}

func (d datedClient) Do(r *http.Request) (*http.Response, error) {
	sent := d.clock.local()
	resp, err := d.next.Do(r)
	if err == nil {
		if date, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			d.clock.record(date, sent)
		}
	}
	return resp, err
}

// record keeps the offset of the latest response: AWS stamped date (to the
// second, rounded down) at or after sent, so AWS's time at sent was at most
// date + 1 s.
func (c *AWSClock) record(date, sent time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.seen = date.Add(time.Second).Sub(sent), true
}

// Now returns AWS's present (rounded up, see AWSClock); false until a
// response has told the time.
func (c *AWSClock) Now() (time.Time, bool) {
	c.mu.Lock()
	offset, seen := c.offset, c.seen
	c.mu.Unlock()
	if !seen {
		return time.Time{}, false
	}
	return c.local().Add(offset).UTC(), true
}

// NowFrom returns Now, asking api (STS GetCallerIdentity, which any
// credentials may call; its client must be one whose HTTP client c wraps)
// first when no response has told the time yet.
func (c *AWSClock) NowFrom(ctx context.Context, api IdentityAPI) (time.Time, error) {
	if now, ok := c.Now(); ok {
		return now, nil
	}
	if _, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return time.Time{}, fmt.Errorf("%w: %v", ErrNoAWSTime, err)
	}
	if now, ok := c.Now(); ok {
		return now, nil
	}
	return time.Time{}, fmt.Errorf("%w: the response had no Date", ErrNoAWSTime)
}
