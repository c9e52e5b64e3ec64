package labels

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/common"
)

// ParseFunc reads one label file of a given format. name is the path used in
// error messages; r yields the (decompressed) content; opt are the caller's
// options (loaders honour BadChecksum through checkAddress). It returns a Set with
// at least Labels (and Title when the format has one); Load fills in Name,
// Format, SHA256, Entries and each label's LabelSet. Errors about the content
// must be *ParseError.
type ParseFunc func(name string, r io.Reader, opt Options) (*Set, error)

// ChecksumPolicy decides what happens to a mixed-case eth address whose
// EIP-55 checksum is wrong.
type ChecksumPolicy int

const (
	// ChecksumReject (the default) fails the file with ErrBadChecksum.
	ChecksumReject ChecksumPolicy = iota
	// ChecksumWarn accepts the address (its 20 bytes are unambiguous; only
	// the letter case is off), marks the label ChecksumMismatch and records a
	// one-line warning "FILE:LINE: ..." in Set.Warnings.
	ChecksumWarn
)

// Options tune loading. The zero value is strict.
type Options struct {
	BadChecksum ChecksumPolicy
}

var (
	registryMu sync.RWMutex
	registry   = map[Format]ParseFunc{}
)

// Register installs the loader for a format. It panics if the format already
// has one or fn is nil (as database/sql.Register does): registration happens
// in init functions.
func Register(f Format, fn ParseFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if fn == nil {
		panic("labels: Register with nil ParseFunc for " + f.String())
	}
	if _, dup := registry[f]; dup {
		panic("labels: Register called twice for " + f.String())
	}
	registry[f] = fn
}

// Registered reports whether a loader is installed for f.
func Registered(f Format) bool {
	registryMu.RLock()
	defer registryMu.RUnlock()
	_, ok := registry[f]
	return ok
}

func loader(f Format) ParseFunc {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[f]
}

func init() {
	Register(FormatTagPack, parseTagPack)
	Register(FormatCSV, parseCSV)
}

// sniffSize is how much of the (decompressed) content Detect looks at.
const sniffSize = 64 << 10

var yamlKeyLine = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-]*\s*:(\s|$)`)

// Detect decides the format of a label file from its name and the first
// bytes of its (decompressed) content. Content decides first:
//
//  1. after an optional UTF-8 BOM and leading white space, "<" means XML:
//     FormatOFACSDN if the head contains "<sdnList", FormatOFACAdvanced if it
//     contains "<Sanctions", otherwise unknown;
//  2. otherwise the first line that is neither blank nor a "#" comment:
//     "---", "- ..." or "key:" (a YAML mapping key) means FormatTagPack, a
//     line containing a comma means FormatCSV;
//  3. otherwise the extension (after removing .bz2/.gz): .yaml/.yml →
//     FormatTagPack, .csv → FormatCSV.
//
// Anything else is FormatUnknown.
func Detect(name string, head []byte) Format {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n")
	if len(h) > 0 && h[0] == '<' {
		switch {
		case bytes.Contains(h, []byte("<sdnList")):
			return FormatOFACSDN
		case bytes.Contains(h, []byte("<Sanctions")):
			return FormatOFACAdvanced
		}
		return FormatUnknown
	}
	for _, line := range strings.Split(string(h), "\n") {
		line = strings.TrimRight(line, "\r")
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if t == "---" || strings.HasPrefix(t, "- ") || t == "-" || strings.HasPrefix(t, "%YAML") || yamlKeyLine.MatchString(line) {
			return FormatTagPack
		}
		if strings.Contains(t, ",") {
			return FormatCSV
		}
		break
	}
	switch strings.ToLower(filepath.Ext(stripCompressionExt(name))) {
	case ".yaml", ".yml":
		return FormatTagPack
	case ".csv":
		return FormatCSV
	}
	return FormatUnknown
}

func stripCompressionExt(name string) string {
	lower := strings.ToLower(name)
	for _, ext := range []string{".bz2", ".gz"} {
		if strings.HasSuffix(lower, ext) {
			return name[:len(name)-len(ext)]
		}
	}
	return name
}

// Load reads a label file, detects its format (see Detect; bzip2 and gzip
// compression are recognised by their magic bytes) and parses it. The Set's
// SHA256 is the digest of the file bytes as stored on disk. Content errors
// are *ParseError (errors.Is(err, ErrMalformed)); I/O errors are returned
// as they come from os (e.g. errors.Is(err, fs.ErrNotExist)).
func Load(path string) (*Set, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options. The file is streamed: it is hashed while it
// is decompressed and parsed, never held in memory whole (the plain OFAC
// sdn_advanced.xml is over 100 MB).
func LoadWith(path string, opt Options) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	defer f.Close()
	return parseStream(path, f, opt)
}

// Parse is Load for content already in memory; name is used for error
// messages, and its base name becomes the Set's name.
func Parse(name string, data []byte) (*Set, error) { return ParseWith(name, data, Options{}) }

// ParseWith is Parse with options.
func ParseWith(name string, data []byte, opt Options) (*Set, error) {
	return parseStream(name, bytes.NewReader(data), opt)
}

// parseStream decompresses (by magic bytes), detects and parses the content
// of raw, hashing every byte of raw on the way (what the loader leaves
// unread is drained into the hash afterwards).
func parseStream(name string, raw io.Reader, opt Options) (*Set, error) {
	h := sha256.New()
	rb := bufio.NewReaderSize(io.TeeReader(raw, h), 64<<10)
	magic, err := rb.Peek(3)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("labels: %w", err)
	}

	var r io.Reader = rb
	switch {
	case bytes.HasPrefix(magic, []byte("BZh")):
		// Decompression takes about a third of the time of importing
		// sdn_advanced.xml.bz2. Running it in a goroutine ahead of the
		// parser was tried and measured no faster on a two-core machine.
		r = bzip2.NewReader(rb)
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(rb)
		if err != nil {
			return nil, perr(name, 0, ErrMalformed, "gzip: %v", err)
		}
		defer zr.Close()
		r = zr
	}
	br := bufio.NewReaderSize(&decompressErr{r: r, name: name}, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		if pe, ok := err.(*ParseError); ok {
			return nil, pe
		}
		return nil, perr(name, 0, ErrMalformed, "%v", err)
	}
	f := Detect(name, head)
	if f == FormatUnknown {
		return nil, perr(name, 0, ErrUnknownFormat,
			"unknown label file format (want a GraphSense TagPack YAML, a CSV with header chain,address,label,category,source, or OFAC SDN XML)")
	}
	fn := loader(f)
	if fn == nil {
		return nil, perr(name, 0, ErrUnsupportedFormat, "%s files are recognised but no loader is installed for them yet", f)
	}
	set, err := fn(name, br, opt)
	if err != nil {
		return nil, err
	}
	// The digest is of the whole file as stored, also the bytes after the
	// end of the compressed stream or the XML root that no loader read.
	if _, err := io.Copy(io.Discard, rb); err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	set.Name = filepath.Base(name)
	set.Format = f
	set.SHA256 = hex.EncodeToString(h.Sum(nil))
	set.Entries = len(set.Labels)
	for i := range set.Labels {
		set.Labels[i].LabelSet = set.Name
	}
	return set, nil
}

// decompressErr turns errors of a decompressor into single-line ParseErrors
// naming the file, so loaders can pass read errors through unchanged.
type decompressErr struct {
	r    io.Reader
	name string
}

func (d *decompressErr) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		if _, ok := err.(*ParseError); !ok {
			err = perr(d.name, 0, ErrMalformed, "reading content: %v", err)
		}
	}
	return n, err
}

// LoadIndex loads every file (with opt) and builds an Index from them (the
// --labels flag). The first error stops it.
func LoadIndex(opt Options, paths ...string) (*Index, error) {
	sets := make([]*Set, 0, len(paths))
	for _, p := range paths {
		s, err := LoadWith(p, opt)
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	return NewIndex(sets...)
}

// checkAddress validates and canonicalises an address of a tag or row at
// line, applying opt.BadChecksum. It sets l.Canonical (and ChecksumMismatch)
// and may append a warning to warns.
func checkAddress(name string, line int, opt Options, l *Label, warns *[]string) error {
	canon, err := CanonicalAddress(l.Chain, l.Address)
	if err != nil {
		if errors.Is(err, ErrBadChecksum) && opt.BadChecksum == ChecksumWarn {
			canon = common.HexToAddress(l.Address).Hex()
			l.Canonical = canon
			l.ChecksumMismatch = true
			*warns = append(*warns, perr(name, line, ErrBadChecksum, "%v; accepted as %s", err, canon).Error())
			return nil
		}
		return perr(name, line, kindOf(err), "%v", err)
	}
	l.Canonical = canon
	return nil
}

// kindOf returns the sentinel an address error wraps.
func kindOf(err error) error {
	for _, k := range []error{ErrMissingAddress, ErrBadChecksum, ErrBadAddress} {
		if errors.Is(err, k) {
			return k
		}
	}
	return ErrMalformed
}
