package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// upstream answers every request with its path and counts them.
func upstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"path":"`+r.URL.Path+`","auth":"`+r.Header.Get("Authorization")+`","body":`+string(body)+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func post(url, body string) (int, string, error) {
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

// TestForwardsToTheTargetWithAuth: whatever path the client asks for, the
// request goes to the target URL, with its credentials and body.
func TestForwardsToTheTargetWithAuth(t *testing.T) {
	up, _ := upstream(t)
	p := New(up.URL+"/base", Options{})
	defer p.Close()
	req, _ := http.NewRequest(http.MethodPost, p.URL()+"/v3/madeupkey?apikey=x", strings.NewReader(`[1,2,3]`))
	req.SetBasicAuth("u", "p")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"path":"/base"`) || !strings.Contains(string(b), `"auth":"Basic `) || !strings.Contains(string(b), `"body":[1,2,3]`) {
		t.Errorf("answer %d %s", res.StatusCode, b)
	}
	recs := p.Records()
	if len(recs) != 1 || recs[0].Outcome != Forwarded || recs[0].Calls != 3 || recs[0].Status != 200 || recs[0].BodyHash == "" {
		t.Errorf("records %+v", recs)
	}
}

// outcomes runs n sequential requests and returns each one's outcome as the
// client saw it: the status, or "err" for a dropped connection.
func outcomes(t *testing.T, url string, n int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		code, _, err := post(url, `{"id":1}`)
		if err != nil {
			out = append(out, "err")
			continue
		}
		out = append(out, http.StatusText(code))
	}
	return out
}

// TestRandomFaultsFollowTheSeed: two proxies with the same seed give the
// n-th request the same fate; the shares come out near the rates asked
// for; another seed gives another sequence.
func TestRandomFaultsFollowTheSeed(t *testing.T) {
	up, _ := upstream(t)
	f := Faults{DropRate: 0.1, ErrorRate: 0.2, ErrorStatus: http.StatusBadGateway}
	run := func(seed uint64) ([]string, map[Outcome]int) {
		p := New(up.URL, Options{Seed: seed, Faults: f})
		defer p.Close()
		return outcomes(t, p.URL(), 200), p.Counts()
	}
	a, ca := run(7)
	b, _ := run(7)
	c, _ := run(8)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed gave different sequences")
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same sequence")
	}
	drops, errs := 0, 0
	for _, o := range a {
		switch o {
		case "err":
			drops++
		case http.StatusText(http.StatusBadGateway):
			errs++
		}
	}
	if drops != ca[Dropped] || errs != ca[ServerError] || ca[Forwarded] != 200-drops-errs {
		t.Errorf("client saw %d drops %d errors; proxy counts %v", drops, errs, ca)
	}
	// 10% drops; errors are 20% of the rest.
	if drops < 8 || drops > 35 || errs < 20 || errs > 60 {
		t.Errorf("%d drops and %d 502s in 200 requests, want near 20 and 36", drops, errs)
	}
}

func TestTooManyEveryKthWithRetryAfter(t *testing.T) {
	up, _ := upstream(t)
	p := New(up.URL, Options{Faults: Faults{TooManyEvery: 3, RetryAfter: 2}})
	defer p.Close()
	for i := 1; i <= 9; i++ {
		res, err := http.Post(p.URL(), "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := 200
		if i%3 == 0 {
			want = 429
			if got := res.Header.Get("Retry-After"); got != "2" {
				t.Errorf("request %d: Retry-After %q", i, got)
			}
		}
		if res.StatusCode != want {
			t.Errorf("request %d: status %d, want %d", i, res.StatusCode, want)
		}
	}
	if c := p.Counts(); c[TooMany] != 3 || c[Forwarded] != 6 {
		t.Errorf("counts %v", c)
	}
}

func TestDownAndDropNext(t *testing.T) {
	up, n := upstream(t)
	p := New(up.URL, Options{})
	defer p.Close()
	p.DropNext(2)
	if got := outcomes(t, p.URL(), 3); !slices.Equal(got, []string{"err", "err", "OK"}) {
		t.Errorf("drop next 2: %v", got)
	}
	p.SetDown(true)
	if got := outcomes(t, p.URL(), 2); !slices.Equal(got, []string{"err", "err"}) {
		t.Errorf("down: %v", got)
	}
	p.SetDown(false)
	if got := outcomes(t, p.URL(), 1); !slices.Equal(got, []string{"OK"}) {
		t.Errorf("back up: %v", got)
	}
	if n.Load() != 2 {
		t.Errorf("upstream saw %d requests, want 2", n.Load())
	}
}

// TestStallHoldsUntilTheClientGivesUp: a stalled request whose client
// times out is abandoned and never reaches the target; one whose client
// waits is forwarded after the stall; a stall over a time span holds every
// request arriving in it.
func TestStallHoldsUntilTheClientGivesUp(t *testing.T) {
	up, n := upstream(t)
	p := New(up.URL, Options{})
	defer p.Close()
	p.StallNext(1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.URL(), strings.NewReader(`{}`))
	_, err := http.DefaultClient.Do(req)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	waitFor(t, func() bool { return p.Counts()[Abandoned] == 1 })
	if n.Load() != 0 {
		t.Errorf("the abandoned request reached the target")
	}

	p.StallNext(1, 150*time.Millisecond)
	start := time.Now()
	if code, _, err := post(p.URL(), `{}`); err != nil || code != 200 {
		t.Fatalf("after the stall: %d %v", code, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("answered after %v, within the 150ms stall", d)
	}

	p.StallFor(200 * time.Millisecond)
	start = time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, err := post(p.URL(), `{}`); err != nil || code != 200 {
				t.Errorf("in the stalled span: %d %v", code, err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("three requests in a 200ms stall answered after %v", d)
	}
	if c := p.Counts(); c[Stalled] != 5 || c[Forwarded] != 4 {
		t.Errorf("counts %v", c)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMaxCount(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms ...int) []time.Time {
		var out []time.Time
		for _, m := range ms {
			out = append(out, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	for _, tc := range []struct {
		times []time.Time
		want  int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 999), 2},
		{at(0, 1000), 1}, // half-open window
		{at(0, 100, 200, 1100, 1150, 1199, 1300), 4},
		{at(0, 0, 0, 500, 1500, 1600), 4},
	} {
		if got := MaxCount(tc.times, time.Second); got != tc.want {
			t.Errorf("MaxCount(%v) = %d, want %d", tc.times, got, tc.want)
		}
	}
}

// TestMaxRateMeasuresArrivals: 12 requests as fast as they go fill one
// second; MaxRate over 1s says 12, over 10s 1.2.
func TestMaxRateMeasuresArrivals(t *testing.T) {
	up, _ := upstream(t)
	p := New(up.URL, Options{})
	defer p.Close()
	outcomes(t, p.URL(), 12)
	if got := p.MaxRate(time.Second); got != 12 {
		t.Errorf("MaxRate(1s) = %v, want 12", got)
	}
	if got := p.MaxRate(10 * time.Second); got != 1.2 {
		t.Errorf("MaxRate(10s) = %v, want 1.2", got)
	}
	if p.Requests() != 12 || len(p.Arrivals()) != 12 {
		t.Errorf("requests %d arrivals %d", p.Requests(), len(p.Arrivals()))
	}
}

// TestCloseReleasesStalledRequests: Close does not wait out a stall.
func TestCloseReleasesStalledRequests(t *testing.T) {
	up, _ := upstream(t)
	p := New(up.URL, Options{})
	p.StallFor(time.Hour)
	done := make(chan struct{})
	go func() {
		post(p.URL(), `{}`)
		close(done)
	}()
	waitFor(t, func() bool { return p.Requests() == 1 })
	start := time.Now()
	p.Close()
	<-done
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a request held", d)
	}
}
