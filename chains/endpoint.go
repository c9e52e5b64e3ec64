package chains

import (
	"net/url"
	"strings"
)

// RedactURL returns an endpoint URL fit to be written down: no user-info, no
// query string or fragment, and every path segment that could carry an API
// key replaced by "REDACTED". Hosted providers put keys in the path
// (".../v3/KEY", ".../v2/KEY"), so only short, plainly non-secret segments
// survive.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "REDACTED"
	}
	out := u.Scheme + "://" + u.Host
	for _, seg := range strings.Split(strings.Trim(u.Path, "/"), "/") {
		if seg == "" {
			continue
		}
		if plainSegment(seg) {
			out += "/" + seg
		} else {
			out += "/REDACTED"
		}
	}
	return out
}

// plainSegment reports whether a path segment is short and word-like (such as
// "v3", "rpc", "api", "mainnet"), as opposed to a token.
func plainSegment(s string) bool {
	if len(s) > 12 {
		return false
	}
	digits := 0
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9':
			digits++
			if i == 0 {
				return false
			}
		case r == '-' || r == '_' || r == '.':
		default:
			return false
		}
	}
	return digits <= 2
}
