package batch

import (
	"testing"
	"time"
)

type memKV map[string][]byte

func (m memKV) Meta(k string) ([]byte, bool, error) { v, ok := m[k]; return v, ok, nil }
func (m memKV) SetMeta(k string, v []byte) error    { m[k] = append([]byte(nil), v...); return nil }

// TestRunsResumeAndCarryThePreviousResult: an unfinished run is resumed
// (its finished jobs stay finished), a finished one gives way to a new
// run, and a job's record keeps its result of the run before.
func TestRunsResumeAndCarryThePreviousResult(t *testing.T) {
	kv := memKV{}
	cp := NewCheckpoints(kv, "b")
	now := time.Unix(1e9, 0)
	r1, resumed, err := cp.Begin(false, now)
	if err != nil || resumed || r1.Number != 1 || r1.Attempts != 1 {
		t.Fatalf("first run %+v resumed %v %v", r1, resumed, err)
	}
	job := Job{ID: "j", Flags: map[string][]string{"seed": {"x"}}}
	spec := SpecHash(job)
	cp.Put(Record{ID: "j", Run: 1, Spec: spec, Status: Done, Attempt: 1, Result: &Result{Digest: "d1"}})
	r1b, resumed, _ := cp.Begin(false, now) // killed before Finish: resumed
	if !resumed || r1b.Number != 1 || r1b.Attempts != 2 {
		t.Fatalf("resumed run %+v resumed %v", r1b, resumed)
	}
	if _, done, _ := cp.Finished("j", spec, r1b, false); !done {
		t.Error("a job finished in the run is not finished when it resumes")
	}
	if _, done, _ := cp.Finished("j", "other-spec", r1b, false); done {
		t.Error("a job whose spec changed counts as finished")
	}
	cp.Put(Record{ID: "k", Run: 1, Spec: "s", Status: Failed})
	if _, done, _ := cp.Finished("k", "s", r1b, true); done {
		t.Error("--retry-failed does not run a failed job again")
	}
	cp.Finish(r1b, now)
	r2, resumed, _ := cp.Begin(false, now)
	if resumed || r2.Number != 2 {
		t.Fatalf("after a finished run: %+v resumed %v", r2, resumed)
	}
	if _, done, _ := cp.Finished("j", spec, r2, false); done {
		t.Error("a job of run 1 counts as finished in run 2")
	}
	cp.Put(Record{ID: "j", Run: 2, Spec: spec, Status: Done, Result: &Result{Digest: "d2"}})
	rec, _, _ := cp.Job("j")
	if rec.Previous == nil || rec.Previous.Digest != "d1" || rec.PreviousRun != 1 || rec.Result.Digest != "d2" {
		t.Errorf("record %+v: want run 1's result as the previous", rec)
	}
	r3, resumed, _ := cp.Begin(true, now) // --fresh: a new run though run 2 is unfinished
	if resumed || r3.Number != 3 {
		t.Errorf("--fresh: %+v resumed %v", r3, resumed)
	}
}
