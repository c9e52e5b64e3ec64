// Package batch runs many traces as one job list: it reads the jobs file,
// keeps a checkpoint per job so that a rerun after a crash redoes nothing
// finished, and states what each job found, what moved since the job's
// last run, and which addresses link two jobs or cases.
//
// The traces themselves are run by the caller (the command line, which
// runs each job as `chaintrace trace` would); this package holds what is
// independent of how a trace is run.
package batch

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/chaintrace/chaintrace/internal/yamlerr"
	yaml "go.yaml.in/yaml/v3"
)

// Job is one trace to run: the trace flags it sets (flag name to values;
// a scalar is one value, a list several) over the batch's defaults.
type Job struct {
	ID string
	// Line is where the job is written in the jobs file (a label set's
	// jobs keep their entry's line).
	Line int
	// Flags are the trace flags the job sets, defaults merged in.
	Flags map[string][]string
	// LabelSet, when set, names a label file whose matching addresses are
	// each a job of their own (the caller expands them).
	LabelSet *LabelSet
	// Incidents, when set, are incidents of the catalog, each a job of its
	// own started from the incident's seeds (the caller expands them).
	Incidents []string
}

// LabelSet selects the addresses of a label file: those on Chain whose
// label, actor or category contains Match (case-insensitive), and in
// Category when it is given.
type LabelSet struct {
	File     string
	Match    string
	Category string
}

// File is a parsed jobs file.
type File struct {
	// Name names the batch (its checkpoints): the file's "name", else the
	// file's base name without extension.
	Name string
	Jobs []Job
}

// Error is a jobs file's problems, each "FILE:LINE: what", all of them.
type Error struct {
	Problems []string
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%s (and %d more problems: %s)", e.Problems[0], len(e.Problems)-1, strings.Join(e.Problems[1:], "; "))
}

// Flags says which trace flags a job may set and how: Repeatable ones take
// a list. A flag the map does not hold is refused.
type Flags map[string]FlagKind

// FlagKind is how a flag takes values.
type FlagKind int

// Kinds of flags.
const (
	Single     FlagKind = iota // one value
	Repeatable                 // a list (or one value)
	List                       // a comma list, or a YAML list joined with commas
)

// jobKeys are the keys of a job that are not trace flags.
var jobKeys = []string{"id", "seeds", "label-set", "incidents"}

var idForm = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Parse reads a jobs file: YAML with "jobs" (a list of jobs), optional
// "defaults" (flags every job starts from) and "name"; or a plain list of
// seed addresses, one per line (# comments), each a job. flags says what
// a job may set; defaults are the caller's (the command line's) for every
// job, under the file's own. Relative file paths in "labels" and
// "label-set" are taken from the jobs file's directory. Every problem is
// reported, with its line.
func Parse(path string, data []byte, flags Flags) (*File, error) {
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var doc yaml.Node
	yerr := yaml.Unmarshal(data, &doc)
	if yerr != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		if isPlainList(data) {
			return parsePlain(path, name, data)
		}
		if yerr != nil {
			line, reason := yamlerr.Line(yerr.Error(), data)
			return nil, &Error{Problems: []string{fmt.Sprintf("%s:%d: not YAML: %s", path, line, reason)}}
		}
		return nil, &Error{Problems: []string{fmt.Sprintf("%s:1: not a jobs file: want a mapping with \"jobs\", or one seed address per line", path)}}
	}
	p := &parser{path: path, dir: filepath.Dir(path), flags: flags}
	f := &File{Name: name}
	root := doc.Content[0]
	var defaults map[string][]string
	var jobs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode || !idForm.MatchString(v.Value) {
				p.errf(v, "name %q: want letters, digits, '.', '_' or '-'", v.Value)
				continue
			}
			f.Name = v.Value
		case "defaults":
			defaults = p.flagsOf(v, false)
		case "jobs":
			jobs = v
		default:
			p.errf(k, "unknown key %q (want name, defaults, jobs)", k.Value)
		}
	}
	if jobs == nil {
		p.errf(root, "no \"jobs\" list")
	} else if jobs.Kind != yaml.SequenceNode {
		p.errf(jobs, "\"jobs\" must be a list")
	} else {
		seen := map[string]int{}
		for i, jn := range jobs.Content {
			j := p.job(jn, i)
			if j == nil {
				continue
			}
			if prev, dup := seen[j.ID]; dup {
				p.errf(jn, "job id %q repeats the job on line %d", j.ID, prev)
				continue
			}
			seen[j.ID] = j.Line
			for k, v := range defaults {
				if _, set := j.Flags[k]; !set {
					j.Flags[k] = v
				}
			}
			f.Jobs = append(f.Jobs, *j)
		}
		if len(jobs.Content) == 0 {
			p.errf(jobs, "\"jobs\" is empty")
		}
	}
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	return f, nil
}

type parser struct {
	path     string
	dir      string
	flags    Flags
	problems []string
}

func (p *parser) errf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf("%s:%d: %s", p.path, n.Line, fmt.Sprintf(format, args...)))
}

// job reads the i-th job; nil when it is unusable (its problems noted).
func (p *parser) job(n *yaml.Node, i int) *Job {
	if n.Kind != yaml.MappingNode {
		p.errf(n, "job %d: want a mapping (id, seeds, trace flags)", i+1)
		return nil
	}
	j := &Job{Line: n.Line, Flags: map[string][]string{}}
	var rest []*yaml.Node
	var seedNode *yaml.Node
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, v := n.Content[k], n.Content[k+1]
		switch key.Value {
		case "id":
			if v.Kind != yaml.ScalarNode || !idForm.MatchString(v.Value) {
				p.errf(v, "job id %q: want letters, digits, '.', '_' or '-', starting with a letter or digit", v.Value)
				return nil
			}
			j.ID = v.Value
		case "seeds", "seed":
			seedNode = v
			vals := p.values(v, key.Value)
			if len(vals) == 0 {
				p.errf(v, "%s: empty", key.Value)
			}
			j.Flags["seed"] = append(j.Flags["seed"], vals...)
		case "label-set":
			j.LabelSet = p.labelSet(v)
		case "incidents":
			j.Incidents = p.values(v, key.Value)
			if len(j.Incidents) == 0 {
				p.errf(v, "incidents: empty")
			}
		default:
			rest = append(rest, key, v)
		}
	}
	if j.ID == "" {
		p.errf(n, "job %d: no id", i+1)
		return nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Content: rest, Line: n.Line}
	for k, v := range p.flagsOf(m, true) {
		j.Flags[k] = v
	}
	_, incident := j.Flags["incident"]
	starts := 0
	for _, has := range []bool{seedNode != nil || incident, j.LabelSet != nil, len(j.Incidents) > 0} {
		if has {
			starts++
		}
	}
	switch {
	case starts == 0:
		p.errf(n, "job %s: no seeds (give seeds, an incident, incidents or a label-set)", j.ID)
	case starts > 1:
		p.errf(n, "job %s: give one of seeds (or an incident), incidents and a label-set", j.ID)
	}
	return j
}

// flagsOf reads a mapping of trace flags.
func (p *parser) flagsOf(n *yaml.Node, inJob bool) map[string][]string {
	out := map[string][]string{}
	if n.Kind != yaml.MappingNode {
		p.errf(n, "want a mapping of trace flags")
		return out
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		key, v := n.Content[k], n.Content[k+1]
		name := strings.TrimPrefix(key.Value, "--")
		kind, ok := p.flags[name]
		if !ok {
			if !inJob && slices.Contains(jobKeys, name) {
				p.errf(key, "%q belongs to a job, not to defaults", name)
				continue
			}
			p.errf(key, "unknown key %q: want a trace flag (%s)", key.Value, strings.Join(p.flagNames(), ", "))
			continue
		}
		vals := p.values(v, name)
		switch kind {
		case Single:
			if v.Kind != yaml.ScalarNode {
				p.errf(v, "%s takes one value", name)
				continue
			}
		case List:
			vals = []string{strings.Join(vals, ",")}
		}
		if name == "labels" {
			for i := range vals {
				vals[i] = p.rel(vals[i])
			}
		}
		out[name] = vals
	}
	return out
}

func (p *parser) flagNames() []string {
	var names []string
	for k := range p.flags {
		names = append(names, k)
	}
	sort.Strings(names)
	return append(jobKeys, names...)
}

// values reads a scalar or a list of scalars.
func (p *parser) values(v *yaml.Node, name string) []string {
	switch v.Kind {
	case yaml.ScalarNode:
		if s := strings.TrimSpace(v.Value); s != "" {
			return []string{s}
		}
		return nil
	case yaml.SequenceNode:
		var out []string
		for _, x := range v.Content {
			if x.Kind != yaml.ScalarNode {
				p.errf(x, "%s: want a plain value", name)
				continue
			}
			if s := strings.TrimSpace(x.Value); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	p.errf(v, "%s: want a value or a list of values", name)
	return nil
}

func (p *parser) labelSet(v *yaml.Node) *LabelSet {
	if v.Kind != yaml.MappingNode {
		p.errf(v, "label-set: want a mapping (file, match, category)")
		return nil
	}
	ls := &LabelSet{}
	for k := 0; k+1 < len(v.Content); k += 2 {
		key, x := v.Content[k], v.Content[k+1]
		if x.Kind != yaml.ScalarNode {
			p.errf(x, "label-set %s: want a plain value", key.Value)
			continue
		}
		switch key.Value {
		case "file":
			ls.File = p.rel(x.Value)
		case "match":
			ls.Match = x.Value
		case "category":
			ls.Category = x.Value
		default:
			p.errf(key, "label-set: unknown key %q (want file, match, category)", key.Value)
		}
	}
	if ls.File == "" {
		p.errf(v, "label-set: no file")
		return nil
	}
	if ls.Match == "" && ls.Category == "" {
		p.errf(v, "label-set: give match or category (every address of a label file is rarely meant)")
		return nil
	}
	return ls
}

// rel resolves a path in the jobs file against the file's directory.
func (p *parser) rel(path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(p.dir, path)
}

// isPlainList reports whether data reads as one value per line: no line
// (comments and blanks aside) with a space, colon or YAML punctuation in
// it but a seed's own.
func isPlainList(data []byte) bool {
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(stripComment(line))
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t{}[]") || strings.HasPrefix(s, "-") || strings.HasSuffix(s, ":") {
			return false
		}
		n++
	}
	return n > 0
}

func stripComment(line string) string {
	if i := strings.Index(line, "#"); i >= 0 {
		return line[:i]
	}
	return line
}

// parsePlain reads one seed per line; each is a job named after it.
func parsePlain(path, name string, data []byte) (*File, error) {
	f := &File{Name: name}
	seen := map[string]int{}
	var problems []string
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(stripComment(line))
		if s == "" {
			continue
		}
		if prev, dup := seen[s]; dup {
			problems = append(problems, fmt.Sprintf("%s:%d: %s repeats line %d", path, i+1, s, prev))
			continue
		}
		seen[s] = i + 1
		id := strings.ReplaceAll(s, ":", "_") // an outpoint txid:vout
		f.Jobs = append(f.Jobs, Job{ID: id, Line: i + 1, Flags: map[string][]string{"seed": {s}}})
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return f, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ErrNoJobs is returned by Select when no job is left to run.
var ErrNoJobs = errors.New("no job selected")

// Select keeps the jobs whose id is in ids (all when ids is empty); an id
// that names no job is an error.
func Select(jobs []Job, ids []string) ([]Job, error) {
	if len(ids) == 0 {
		return jobs, nil
	}
	var out []Job
	for _, id := range ids {
		i := slices.IndexFunc(jobs, func(j Job) bool { return j.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("--only %s: no such job", id)
		}
		out = append(out, jobs[i])
	}
	if len(out) == 0 {
		return nil, ErrNoJobs
	}
	return out, nil
}
