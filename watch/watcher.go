package watch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
)

// Defaults of Config.
const (
	DefaultPoll          = 5 * time.Second
	DefaultChunk         = 16
	DefaultProgressEvery = 30 * time.Second
	// MinKeep is the least number of final block hashes kept to find a
	// fork point after a restart (Keep is at least 4 × Confirmations).
	MinKeep = 128
)

// Config configures a Watcher.
type Config struct {
	Source    Source
	Watchlist *Watchlist
	// Labels returns what is known of an address (the destination of a
	// movement); nil: nothing.
	Labels func(addr string) []LabelRef
	// Confirmations is the number of blocks that must be on top of a
	// movement's block before it is final and alerted (0: at once).
	Confirmations uint64
	// Incoming also alerts transfers to watched addresses; without it only
	// transfers from them are.
	Incoming bool
	// FromBlock is the first block to watch when there is no state yet;
	// nil: the node's head at start. A state file wins over it.
	FromBlock *uint64
	// StatePath is the state file; "": the state lives only in memory.
	StatePath string
	Sinks     []Sink
	Logger    *slog.Logger // nil: slog.Default()
	// Poll is the wait between polls of Run; 0: DefaultPoll.
	Poll time.Duration
	// Chunk is the number of blocks fetched per request; 0: DefaultChunk.
	Chunk int
	// Keep is the number of final block hashes kept; 0: max(MinKeep,
	// 4 × Confirmations).
	Keep int
	// ProgressEvery is how often a long catch-up, a wait for confirmations
	// and an idle watch log where they are; 0: DefaultProgressEvery.
	ProgressEvery time.Duration
	Now           func() time.Time // nil: time.Now
}

// Watcher follows a chain and alerts movements of watched funds. It is
// driven by one goroutine (Step or Run).
type Watcher struct {
	cfg   Config
	src   Source
	chain chains.Chain
	log   *slog.Logger
	st    *State
	// tip are the blocks fetched that are not final yet, ascending and
	// contiguous from st.Next; they are not saved (a restart fetches them
	// again).
	tip   []*pendingBlock
	dirty bool

	alerts, retractions int
	lastCatchUp         time.Time
	lastWait            time.Time
	lastBeat            time.Time
}

type pendingBlock struct {
	ref   BlockRef
	moves []*Alert
}

// Result is what one Step did.
type Result struct {
	Head        uint64 // the node's head
	Next        uint64 // the first block not final yet
	Pending     int    // movements seen, waiting for confirmations
	Alerts      int    // movement alerts sent
	Retractions int    // retractions sent
	Reorgs      int    // reorganisations handled
}

// errSave marks a failure to write the state file (fatal for Run).
var errSave = errors.New("saving watch state")

// Open makes a Watcher: it reads the state file if there is one (bound to
// the source's chain and network), else starts at cfg.FromBlock or the
// node's head.
func Open(ctx context.Context, cfg Config) (*Watcher, error) {
	if cfg.Source == nil || cfg.Watchlist == nil {
		return nil, errors.New("watch: a source and a watchlist are required")
	}
	if cfg.Watchlist.Chain() != cfg.Source.Chain() {
		return nil, fmt.Errorf("watch: a %s watchlist on a %s source", cfg.Watchlist.Chain(), cfg.Source.Chain())
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Chunk <= 0 {
		cfg.Chunk = DefaultChunk
	}
	if cfg.Keep <= 0 {
		cfg.Keep = max(MinKeep, 4*int(min(cfg.Confirmations, 1<<20)))
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = DefaultProgressEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Watcher{cfg: cfg, src: cfg.Source, chain: cfg.Source.Chain(), log: cfg.Logger}
	network := w.src.Network()
	if cfg.StatePath != "" {
		st, err := LoadState(cfg.StatePath)
		if err != nil {
			return nil, err
		}
		if st != nil {
			if st.Chain != string(w.chain) || st.Network != network {
				return nil, fmt.Errorf("%w: %s is for %s (%s), the node serves %s (%s)", ErrStateMismatch, cfg.StatePath, st.Chain, st.Network, w.chain, network)
			}
			w.st = st
			w.log.Info("resuming from the state file", "state", cfg.StatePath, "next_block", st.Next, "alerts_kept", len(st.Alerted))
			if cfg.FromBlock != nil && *cfg.FromBlock != st.Start {
				w.log.Info("the state file wins over --from-block", "from_block", *cfg.FromBlock, "state_start", st.Start)
			}
		}
	}
	if w.st == nil {
		var start uint64
		if cfg.FromBlock != nil {
			start = *cfg.FromBlock
		} else {
			head, err := w.src.Head(ctx)
			if err != nil {
				return nil, err
			}
			start = head
		}
		w.st = &State{Version: stateVersion, Chain: string(w.chain), Network: network, Start: start, Next: start,
			Alerted: map[string]*Record{}}
		w.dirty = true
	}
	w.st.Confirmations = cfg.Confirmations
	counts := cfg.Watchlist.Counts()
	w.log.Info("watching", "chain", w.chain, "network", network, "addresses", cfg.Watchlist.Len(),
		"from_exhibits", counts[ReasonExhibit], "from_lists", counts[ReasonList], "from_labels", counts[ReasonLabel],
		"incoming", cfg.Incoming, "confirmations", cfg.Confirmations, "next_block", w.st.Next)
	return w, nil
}

// State returns the watcher's state (for tests and reports; do not modify).
func (w *Watcher) State() *State { return w.st }

// Run polls until ctx is cancelled (then it saves the state and returns
// nil), or a fatal error: a reorganisation deeper than the hashes kept, or
// a state file that cannot be written. A failing node is logged and polled
// again.
func (w *Watcher) Run(ctx context.Context) error {
	for {
		res, err := w.Step(ctx)
		if ctx.Err() != nil {
			serr := w.save()
			w.log.Info("watch stopped", "next_block", w.st.Next, "alerts_sent", w.alerts, "retractions_sent", w.retractions)
			return serr
		}
		if err != nil {
			if errors.Is(err, ErrReorgTooDeep) || errors.Is(err, errSave) {
				return err
			}
			w.log.Warn("poll failed; polling again", "err", err, "retry_in", w.cfg.Poll)
		} else if now := w.cfg.Now(); now.Sub(w.lastBeat) >= w.cfg.ProgressEvery {
			w.lastBeat = now
			w.log.Info("watching", "head", res.Head, "final_through", int64(res.Next)-1, "pending", res.Pending,
				"alerts_sent", w.alerts, "retractions_sent", w.retractions, "addresses", w.cfg.Watchlist.Len())
		}
		t := time.NewTimer(w.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// Step polls once: it follows the node's chain from the last block held to
// the head (handling any reorganisation), alerts every movement that is
// now final, retracts alerted movements a deep reorganisation removed, and
// saves the state.
func (w *Watcher) Step(ctx context.Context) (Result, error) {
	var res Result
	head, err := w.src.Head(ctx)
	if err != nil {
		return res, err
	}
	res.Head = head
	behind, err := w.checkLast(ctx, head, &res)
	if err != nil {
		return w.result(&res), w.saveOr(err)
	}
	if behind {
		return w.result(&res), w.save()
	}
	first, began := w.nextFetch(), time.Now()
	for w.nextFetch() <= head {
		if err := ctx.Err(); err != nil {
			return w.result(&res), w.saveOr(err)
		}
		from := w.nextFetch()
		to := min(head, from+uint64(w.cfg.Chunk)-1)
		nums := make([]uint64, 0, to-from+1)
		for n := from; n <= to; n++ {
			nums = append(nums, n)
		}
		blocks, err := w.src.Blocks(ctx, nums)
		if err != nil {
			return w.result(&res), w.saveOr(err)
		}
		for i, b := range blocks {
			if b == nil || b.Block.Number != nums[i] {
				return w.result(&res), w.saveOr(fmt.Errorf("%w: asked for block %d, got another", ErrInconsistent, nums[i]))
			}
			if last := w.last(); last != nil && !sameHash(b.Block.ParentHash, last.Hash) {
				if err := w.reorg(ctx, head, &res); err != nil {
					return w.result(&res), w.saveOr(err)
				}
				break // fetch again from the fork point
			}
			w.add(b, head)
		}
		if err := w.finalize(ctx, head, &res); err != nil {
			return w.result(&res), err
		}
		// A long catch-up keeps its progress if it is stopped.
		if err := w.save(); err != nil {
			return w.result(&res), err
		}
		w.catchUpProgress(first, head, began)
	}
	if err := w.finalize(ctx, head, &res); err != nil {
		return w.result(&res), err
	}
	if err := w.retract(ctx, head, &res); err != nil {
		return w.result(&res), err
	}
	w.prune()
	w.waitProgress(head)
	return w.result(&res), w.save()
}

func (w *Watcher) result(res *Result) Result {
	res.Next = w.st.Next
	res.Pending = w.pending()
	return *res
}

func (w *Watcher) pending() int {
	n := 0
	for _, pb := range w.tip {
		n += len(pb.moves)
	}
	return n
}

// last is the highest block held (pending or final), nil when none.
func (w *Watcher) last() *BlockRef {
	if n := len(w.tip); n > 0 {
		return &w.tip[n-1].ref
	}
	if n := len(w.st.Recent); n > 0 {
		return &w.st.Recent[n-1]
	}
	return nil
}

func (w *Watcher) nextFetch() uint64 { return w.st.Next + uint64(len(w.tip)) }

func sameHash(a, b string) bool { return strings.EqualFold(a, b) }

// checkLast checks that the highest block held is still the node's block at
// that height; if not, the chain was reorganised under it. behind reports a
// node whose head is below the blocks held but on the same chain (a lagging
// node behind a load balancer, say): then there is nothing to do until it
// catches up, and nothing is dropped.
func (w *Watcher) checkLast(ctx context.Context, head uint64, res *Result) (behind bool, err error) {
	last := w.last()
	if last == nil {
		return false, nil
	}
	at := last.Number
	var want string
	if at > head {
		at = head
		ref := w.ref(head)
		if ref == nil {
			return true, nil // below everything held: wait for the node
		}
		want = ref.Hash
	} else {
		want = last.Hash
	}
	h, err := w.src.BlockHash(ctx, at)
	if err != nil {
		if errors.Is(err, ErrNoBlock) {
			return true, nil
		}
		return false, err
	}
	if sameHash(h, want) {
		if last.Number > head {
			w.log.Info("the node's head is behind the blocks already processed; waiting for it", "head", head, "held_through", last.Number)
			return true, nil
		}
		return false, nil
	}
	return false, w.reorg(ctx, head, res)
}

// ref is the block held at height n, nil when none is.
func (w *Watcher) ref(n uint64) *BlockRef {
	for i := range w.tip {
		if w.tip[i].ref.Number == n {
			return &w.tip[i].ref
		}
	}
	if k := len(w.st.Recent); k > 0 && n >= w.st.Recent[0].Number && n <= w.st.Recent[k-1].Number {
		return &w.st.Recent[n-w.st.Recent[0].Number]
	}
	return nil
}

// reorg finds the highest block held that is still on the node's chain and
// drops everything above it.
func (w *Watcher) reorg(ctx context.Context, head uint64, res *Result) error {
	var refs []BlockRef
	for i := len(w.tip) - 1; i >= 0; i-- {
		refs = append(refs, w.tip[i].ref)
	}
	for i := len(w.st.Recent) - 1; i >= 0; i-- {
		refs = append(refs, w.st.Recent[i])
	}
	if len(refs) == 0 {
		return nil
	}
	resume, found := uint64(0), false
	for _, r := range refs {
		if r.Number > head {
			continue
		}
		h, err := w.src.BlockHash(ctx, r.Number)
		if errors.Is(err, ErrNoBlock) {
			continue
		}
		if err != nil {
			return err
		}
		if sameHash(h, r.Hash) {
			resume, found = r.Number+1, true
			break
		}
	}
	lowest := refs[len(refs)-1]
	if !found {
		if lowest.Number != w.st.Start {
			return fmt.Errorf("%w: none of blocks %d to %d held is on the node's chain any more; start again with a new state file",
				ErrReorgTooDeep, lowest.Number, refs[0].Number)
		}
		resume = w.st.Start // everything since the start was orphaned
	}
	if resume > refs[0].Number {
		// Every block held is still canonical: the node's answers changed
		// while they were fetched. Poll again.
		return fmt.Errorf("%w: a block's parent is not the block held below it, yet the blocks held are canonical", ErrInconsistent)
	}
	w.rollback(resume, refs[0].Number)
	res.Reorgs++
	return nil
}

// rollback drops every block held from height resume on.
func (w *Watcher) rollback(resume, lastHeld uint64) {
	keep := 0
	for _, pb := range w.tip {
		if pb.ref.Number >= resume {
			for _, a := range pb.moves {
				w.log.Info("a reorganisation removed a movement before it was final: no alert", "id", a.ID,
					"block", pb.ref.Number, "block_hash", pb.ref.Hash, "tx", a.Transfer.TxHash)
			}
			continue
		}
		keep++
	}
	w.tip = w.tip[:keep]
	orphaned := map[string]uint64{}
	for n := len(w.st.Recent); n > 0 && w.st.Recent[n-1].Number >= resume; n = len(w.st.Recent) {
		r := w.st.Recent[n-1]
		orphaned[strings.ToLower(r.Hash)] = r.Number
		w.st.Recent = w.st.Recent[:n-1]
	}
	if len(orphaned) > 0 {
		w.st.Next = resume
		w.dirty = true
		for _, id := range sortedIDs(w.st.Alerted) {
			rec := w.st.Alerted[id]
			if _, ok := orphaned[strings.ToLower(rec.BlockHash)]; ok && !rec.Displaced {
				rec.Displaced = true
				w.log.Warn("a reorganisation deeper than the confirmation depth removed the block of an alerted movement",
					"id", id, "block", rec.Block, "block_hash", rec.BlockHash)
			}
		}
	}
	w.log.Warn("chain reorganisation", "fork_block", int64(resume)-1, "blocks_orphaned", lastHeld-resume+1,
		"final_blocks_orphaned", len(orphaned), "confirmations", w.cfg.Confirmations)
}

// add appends a fetched block to the tip with the movements of watched
// funds it holds.
func (w *Watcher) add(b *chains.BlockTransfers, head uint64) {
	pb := &pendingBlock{ref: BlockRef{Number: b.Block.Number, Hash: strings.ToLower(b.Block.Hash), Parent: strings.ToLower(b.Block.ParentHash)}}
	for i := range b.Transfers {
		if a := w.match(&b.Transfers[i]); a != nil {
			pb.moves = append(pb.moves, a)
		}
	}
	w.tip = append(w.tip, pb)
	if final := pb.ref.Number + w.cfg.Confirmations; final > head {
		for _, a := range pb.moves {
			w.log.Info("watched funds moved; alert when final", "id", a.ID, "block", pb.ref.Number, "to", a.Transfer.To,
				"asset", a.Transfer.Asset, "amount", a.Transfer.Amount, "confirmations", head-pb.ref.Number,
				"final_at_block", final)
		}
	}
}

// match returns the alert a transfer makes, nil when it touches no watched
// address the way the watcher looks at.
func (w *Watcher) match(t *chains.Transfer) *Alert {
	wl := w.cfg.Watchlist
	var ws []Watched
	for i, f := range t.From {
		if i > 0 && containsKey(w.chain, t.From[:i], f) {
			continue
		}
		if rs, ok := wl.Lookup(f); ok {
			ws = append(ws, Watched{Address: f, Role: "from", Reasons: rs})
		}
	}
	toReasons, toWatched := wl.Lookup(t.To)
	if w.cfg.Incoming && toWatched {
		ws = append(ws, Watched{Address: t.To, Role: "to", Reasons: toReasons})
	}
	if len(ws) == 0 {
		return nil
	}
	var labels []LabelRef
	if w.cfg.Labels != nil {
		labels = w.cfg.Labels(t.To)
	}
	return &Alert{Schema: AlertSchema, Type: TypeMovement, ID: MovementID(t, w.chain), Chain: string(w.chain),
		Network: w.st.Network, Transfer: t.Row(), Watched: ws, Destination: newDestination(t.To, labels, toWatched)}
}

func containsKey(chain chains.Chain, xs []string, x string) bool {
	k := Key(chain, x)
	for _, y := range xs {
		if Key(chain, y) == k {
			return true
		}
	}
	return false
}

// finalize alerts the movements of every block held that now has
// Confirmations blocks on top, oldest first.
func (w *Watcher) finalize(ctx context.Context, head uint64, res *Result) error {
	for len(w.tip) > 0 && w.tip[0].ref.Number+w.cfg.Confirmations <= head {
		pb := w.tip[0]
		w.tip = w.tip[1:]
		sent := 0
		for _, a := range pb.moves {
			if rec, ok := w.st.Alerted[a.ID]; ok {
				if rec.Displaced {
					w.log.Info("an alerted movement is on the chain again after a reorganisation: no new alert", "id", a.ID,
						"block", pb.ref.Number, "was_block", rec.Block)
					rec.Displaced, rec.Block, rec.BlockHash = false, pb.ref.Number, pb.ref.Hash
					w.dirty = true
				}
				continue
			}
			a.Head, a.Confirmations = head, head-pb.ref.Number
			a.AlertedAt = w.cfg.Now().UTC().Format(time.RFC3339)
			a.Message = a.message()
			w.emit(ctx, a)
			w.st.Alerted[a.ID] = &Record{Block: pb.ref.Number, BlockHash: pb.ref.Hash, Alert: a}
			sent++
			res.Alerts++
			w.alerts++
		}
		w.st.Recent = append(w.st.Recent, pb.ref)
		w.st.Next = pb.ref.Number + 1
		w.dirty = true
		if sent > 0 {
			if err := w.save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// retract sends a retraction for every alerted movement whose block a
// reorganisation removed and that the chain, now followed to the head,
// does not hold again (not even in a block still waiting for
// confirmations: then it waits).
func (w *Watcher) retract(ctx context.Context, head uint64, res *Result) error {
	pendingIDs := map[string]bool{}
	for _, pb := range w.tip {
		for _, a := range pb.moves {
			pendingIDs[a.ID] = true
		}
	}
	for _, id := range sortedIDs(w.st.Alerted) {
		rec := w.st.Alerted[id]
		if !rec.Displaced || pendingIDs[id] {
			continue
		}
		r := *rec.Alert
		r.Type = TypeRetraction
		r.Head, r.Confirmations = head, 0
		r.RetractedBecause = fmt.Sprintf("block %d (%s) is no longer on the chain (a reorganisation deeper than %d confirmations) and the chain up to block %d does not hold this transfer",
			rec.Block, rec.BlockHash, w.cfg.Confirmations, head)
		r.AlertedAt = w.cfg.Now().UTC().Format(time.RFC3339)
		r.Message = r.message()
		w.emit(ctx, &r)
		delete(w.st.Alerted, id)
		w.dirty = true
		res.Retractions++
		w.retractions++
		if err := w.save(); err != nil {
			return err
		}
	}
	return nil
}

func sortedIDs(m map[string]*Record) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := m[ids[i]], m[ids[j]]
		if a.Block != b.Block {
			return a.Block < b.Block
		}
		return ids[i] < ids[j]
	})
	return ids
}

// prune keeps the last Keep final blocks, and the alerts of those.
func (w *Watcher) prune() {
	if extra := len(w.st.Recent) - w.cfg.Keep; extra > 0 {
		w.st.Recent = append([]BlockRef(nil), w.st.Recent[extra:]...)
		w.dirty = true
	}
	if len(w.st.Recent) == 0 {
		return
	}
	oldest := w.st.Recent[0].Number
	for id, rec := range w.st.Alerted {
		if !rec.Displaced && rec.Block < oldest {
			delete(w.st.Alerted, id)
			w.dirty = true
		}
	}
}

func (w *Watcher) emit(ctx context.Context, a *Alert) {
	for _, s := range w.cfg.Sinks {
		if err := s.Send(ctx, a); err != nil {
			w.log.Warn("alert not delivered", "sink", s.Name(), "id", a.ID, "type", a.Type, "err", err)
		}
	}
}

func (w *Watcher) save() error {
	if !w.dirty || w.cfg.StatePath == "" {
		return nil
	}
	w.st.UpdatedAt = w.cfg.Now().UTC().Format(time.RFC3339)
	if err := w.st.Save(w.cfg.StatePath); err != nil {
		return fmt.Errorf("%w: %v", errSave, err)
	}
	w.dirty = false
	return nil
}

// saveOr saves what is final and returns err (or the save's failure).
func (w *Watcher) saveOr(err error) error {
	if serr := w.save(); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

func (w *Watcher) catchUpProgress(first, head uint64, began time.Time) {
	now := w.cfg.Now()
	if now.Sub(w.lastCatchUp) < w.cfg.ProgressEvery || head-first < uint64(w.cfg.Chunk) {
		return
	}
	if w.lastCatchUp.IsZero() && time.Since(began) < w.cfg.ProgressEvery {
		w.lastCatchUp = now // the first line after one interval
		return
	}
	w.lastCatchUp = now
	done := w.nextFetch() - first
	rate := float64(done) / max(time.Since(began).Seconds(), 1e-3)
	w.log.Info("catching up", "block", w.nextFetch()-1, "head", head, "blocks_done", done, "blocks_left", head+1-w.nextFetch(),
		"blocks_per_s", fmt.Sprintf("%.1f", rate))
}

func (w *Watcher) waitProgress(head uint64) {
	if len(w.tip) == 0 {
		return
	}
	var oldest *pendingBlock
	n := 0
	for _, pb := range w.tip {
		if len(pb.moves) > 0 && oldest == nil {
			oldest = pb
		}
		n += len(pb.moves)
	}
	now := w.cfg.Now()
	if oldest == nil || now.Sub(w.lastWait) < w.cfg.ProgressEvery {
		return
	}
	w.lastWait = now
	final := oldest.ref.Number + w.cfg.Confirmations
	w.log.Info("waiting for confirmations", "pending_movements", n, "oldest_block", oldest.ref.Number, "head", head,
		"final_at_block", final, "blocks_to_go", final-head)
}
