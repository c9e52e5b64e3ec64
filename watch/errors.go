package watch

import "errors"

var (
	// ErrReorgTooDeep means the node's chain no longer holds any block the
	// Watcher remembers: a reorganisation deeper than the hashes kept. The
	// Watcher cannot tell what the orphaned blocks held and stops.
	ErrReorgTooDeep = errors.New("reorganisation deeper than the block hashes kept")
	// ErrBadState means the state file cannot be read as a watch state.
	ErrBadState = errors.New("not a watch state file")
	// ErrStateMismatch means the state file belongs to another chain or
	// network than the node being watched.
	ErrStateMismatch = errors.New("state file is for another chain")
	// ErrNoBlock means the node has no block at the height asked for (past
	// its head, e.g. while it reorganises).
	ErrNoBlock = errors.New("no block at that height")
	// ErrInconsistent means the node answered blocks that do not fit
	// together (a reorganisation while fetching, usually; retried).
	ErrInconsistent = errors.New("inconsistent blocks")
)
