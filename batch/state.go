package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// KV is where checkpoints live (the store's metadata): Put must be
// durable before it returns, as far as a killed process is concerned.
type KV interface {
	Meta(key string) ([]byte, bool, error)
	SetMeta(key string, val []byte) error
}

// Status of a job in a run.
type Status string

// Job statuses.
const (
	Pending Status = "pending"
	Done    Status = "done"
	Failed  Status = "failed"
)

// Run is one pass of a batch over its jobs. A run that was cut short (a
// crash, a kill) is resumed by the next invocation: only the jobs it has
// not finished are run. Once every job has finished, the next invocation
// starts a new run.
type Run struct {
	Number   int       `json:"number"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Attempts counts the invocations that worked on this run (1 when it
	// was never interrupted).
	Attempts int `json:"attempts"`
}

// Record is a job's checkpoint: its outcome in the latest run that
// reached it, and its result in the run before, for the diff.
type Record struct {
	ID   string `json:"id"`
	Run  int    `json:"run"`
	Spec string `json:"spec"` // SpecHash of the job as it ran
	// Status is Done or Failed (a job not finished has no record for its
	// run).
	Status    Status        `json:"status"`
	Error     string        `json:"error,omitempty"`
	Exhibit   string        `json:"exhibit,omitempty"`
	Took      time.Duration `json:"took_ns"`
	NodeCalls int64         `json:"node_calls"`
	Finished  time.Time     `json:"finished"`
	// Attempt is the invocation of the run that finished the job.
	Attempt  int     `json:"attempt"`
	Result   *Result `json:"result,omitempty"`
	Previous *Result `json:"previous,omitempty"`
	// PreviousRun is the run Previous came from.
	PreviousRun int `json:"previous_run,omitempty"`
}

// Checkpoints reads and writes a batch's run and job records.
type Checkpoints struct {
	kv   KV
	name string
}

// NewCheckpoints returns the checkpoints of batch name in kv.
func NewCheckpoints(kv KV, name string) *Checkpoints { return &Checkpoints{kv: kv, name: name} }

// Name is the batch's name.
func (c *Checkpoints) Name() string { return c.name }

func (c *Checkpoints) runKey() string          { return "batch/" + c.name + "/run" }
func (c *Checkpoints) jobKey(id string) string { return "batch/" + c.name + "/job/" + id }

// Begin returns the run to work on: the last one, resumed, if it has not
// finished and fresh is false; else a new one.
func (c *Checkpoints) Begin(fresh bool, now time.Time) (Run, bool, error) {
	var r Run
	b, ok, err := c.kv.Meta(c.runKey())
	if err != nil {
		return r, false, err
	}
	if ok {
		if err := json.Unmarshal(b, &r); err != nil {
			return r, false, fmt.Errorf("batch %s: run record: %w", c.name, err)
		}
	}
	resumed := ok && r.Finished.IsZero() && !fresh
	if resumed {
		r.Attempts++
	} else {
		r = Run{Number: r.Number + 1, Started: now.UTC(), Attempts: 1}
	}
	return r, resumed, c.putRun(r)
}

// Finish marks run r finished.
func (c *Checkpoints) Finish(r Run, now time.Time) error {
	r.Finished = now.UTC()
	return c.putRun(r)
}

func (c *Checkpoints) putRun(r Run) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return c.kv.SetMeta(c.runKey(), b)
}

// Job returns job id's record, if it has one.
func (c *Checkpoints) Job(id string) (Record, bool, error) {
	var rec Record
	b, ok, err := c.kv.Meta(c.jobKey(id))
	if err != nil || !ok {
		return rec, ok, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, false, fmt.Errorf("batch %s: job %s record: %w", c.name, id, err)
	}
	return rec, true, nil
}

// Finished reports whether job j (as specified now, spec) is finished in
// run r: done or failed in it with the same spec. A failed job is run
// again by a resumed run only when retryFailed is set.
func (c *Checkpoints) Finished(id, spec string, r Run, retryFailed bool) (Record, bool, error) {
	rec, ok, err := c.Job(id)
	if err != nil || !ok {
		return rec, false, err
	}
	if rec.Run != r.Number || rec.Spec != spec {
		return rec, false, nil
	}
	if rec.Status == Failed && retryFailed {
		return rec, false, nil
	}
	return rec, true, nil
}

// Put records a job's outcome in run r. Its previous result carries over
// from the job's record of an earlier run.
func (c *Checkpoints) Put(rec Record) error {
	old, ok, err := c.Job(rec.ID)
	if err != nil {
		return err
	}
	switch {
	case ok && old.Run < rec.Run && old.Result != nil:
		rec.Previous, rec.PreviousRun = old.Result, old.Run
	case ok:
		rec.Previous, rec.PreviousRun = old.Previous, old.PreviousRun
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return c.kv.SetMeta(c.jobKey(rec.ID), b)
}

// SpecHash names a job's specification: its flags, sorted. A job whose
// spec changed is run again, even in a resumed run.
func SpecHash(j Job) string {
	keys := make([]string, 0, len(j.Flags))
	for k := range j.Flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\n", k, strings.Join(j.Flags[k], "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
