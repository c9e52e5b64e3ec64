package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/chaintrace/chaintrace/internal/atomicfile"
)

// stateVersion is the version of the state file's layout.
const stateVersion = 1

// BlockRef is a block as the Watcher remembers it.
type BlockRef struct {
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
	Parent string `json:"parent"`
}

// Record is an alert sent, kept to drop a repeat and to retract it if a
// reorganisation removes its block.
type Record struct {
	Block     uint64 `json:"block"`
	BlockHash string `json:"block_hash"`
	// Displaced is set while the record's block is off the canonical chain
	// (a reorganisation deeper than the confirmation depth): the movement
	// is retracted unless the new chain holds it again.
	Displaced bool   `json:"displaced,omitempty"`
	Alert     *Alert `json:"alert"`
}

// State is what a Watcher keeps between runs (the --state file).
type State struct {
	Version int    `json:"version"`
	Chain   string `json:"chain"`
	Network string `json:"network"`
	// Start is the first block watched.
	Start uint64 `json:"start"`
	// Next is the first block not yet final and processed: every block
	// from Start to Next-1 is done, its movements alerted.
	Next uint64 `json:"next"`
	// Recent are the last final blocks processed, ascending and
	// contiguous, the last one Next-1: what a reorganisation is checked
	// against after a restart.
	Recent []BlockRef `json:"recent"`
	// Alerted are the alerts sent for the blocks in Recent (and any block
	// displaced by a reorganisation), by alert ID.
	Alerted map[string]*Record `json:"alerted"`
	// Confirmations is the depth the alerts were made at (informational).
	Confirmations uint64 `json:"confirmations"`
	UpdatedAt     string `json:"updated_at"`
}

// LoadState reads a state file. A missing file is (nil, nil).
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadState, path, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%w: %s: version %d, want %d", ErrBadState, path, st.Version, stateVersion)
	}
	if st.Chain == "" || st.Network == "" || st.Next < st.Start {
		return nil, fmt.Errorf("%w: %s: chain, network or blocks missing", ErrBadState, path)
	}
	for i, r := range st.Recent {
		if r.Hash == "" || (i > 0 && r.Number != st.Recent[i-1].Number+1) {
			return nil, fmt.Errorf("%w: %s: recent blocks are not contiguous", ErrBadState, path)
		}
	}
	if n := len(st.Recent); n > 0 && st.Recent[n-1].Number+1 != st.Next {
		return nil, fmt.Errorf("%w: %s: the last recent block is not next-1", ErrBadState, path)
	}
	if st.Alerted == nil {
		st.Alerted = map[string]*Record{}
	}
	return &st, nil
}

// Save writes the state atomically: a reader (or a restart after a crash)
// sees the old file or the whole new one.
func (st *State) Save(path string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}
