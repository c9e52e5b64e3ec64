// Package yamlerr reads the line out of go.yaml.in/yaml/v3's error
// messages, for the project's YAML readers (label TagPacks, the incident
// catalog, batch jobs files), which name every problem with its line.
package yamlerr

import (
	"regexp"
	"strconv"
	"strings"
)

var (
	lineRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	anchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)
)

// parserProblems are the problems the YAML parser (as opposed to its
// scanner) reports. yaml.v3 prints the line of these 0-based (it adds 1
// only for scanner errors) and prints no line at all for line 0, so they
// need +1 to be the 1-based line a reader sees.
var parserProblems = []string{
	"did not find expected <stream-start>",
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected '-' indicator",
	"did not find expected key",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"found undefined tag handle",
	"found duplicate %YAML directive",
	"found duplicate %TAG directive",
	"found incompatible YAML document",
}

// Line extracts the 1-based line and the reason from a yaml.v3 error
// message. Errors without a line are put on line 1, except an unknown
// alias, which is located in data.
func Line(msg string, data []byte) (int, string) {
	msg = strings.Join(strings.Fields(msg), " ")
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		for _, p := range parserProblems {
			if m[2] == p {
				line++
				break
			}
		}
		return line, m[2]
	}
	reason := strings.TrimPrefix(msg, "yaml: ")
	if m := anchorRE.FindStringSubmatch(msg); m != nil {
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "*"+m[1]) {
				return i + 1, reason
			}
		}
	}
	return 1, reason
}
