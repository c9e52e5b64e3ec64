package tracer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/store"
)

// BlockFinder names the blocks in which an address appears: an
// address-indexed history backend (trace_filter, Otterscan, token logs,
// an explorer). It only says where to look; what moved is read from the
// node's own blocks, so an exhibit does not depend on the backend.
type BlockFinder interface {
	Name() string
	Blocks(ctx context.Context, addr string, from, to uint64) ([]uint64, error)
}

// Claim is a value movement a third party (an explorer) says happened.
type Claim struct {
	Block           uint64
	TxHash          string
	Kind            chains.Kind
	From, To, Asset string
	Amount, TokenID *big.Int
	Failed          bool // the explorer itself says the transaction or call failed
}

// ClaimFinder is a BlockFinder that is not the node: every movement it
// reports is checked against the node's block before anything is used.
type ClaimFinder interface {
	BlockFinder
	Claims(ctx context.Context, addr string, from, to uint64) ([]Claim, error)
}

// BackedHistory serves the walk from blocks a history backend names,
// fetched from the node into the store on demand. It remembers, per address
// and backend, which block ranges it has covered, so a second trace of the
// same case asks neither the backend nor the node anything.
type BackedHistory struct {
	*StoreHistory
	Finders []BlockFinder
	// Index fetches the named blocks from the node into the store.
	Index  func(ctx context.Context, blocks []uint64) error
	Logger *slog.Logger

	mu       sync.Mutex
	rejected []string
	queries  int
}

var _ History = (*BackedHistory)(nil)

// Rejected lists the explorer claims the node's blocks did not bear out.
func (h *BackedHistory) Rejected() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.rejected...)
}

// Queries counts backend queries made.
func (h *BackedHistory) Queries() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.queries
}

func (h *BackedHistory) AddressTransfers(ctx context.Context, addr string, from, to uint64, fn func(*chains.Transfer) error) error {
	if err := h.ensure(ctx, addr, from, to); err != nil {
		return err
	}
	return h.StoreHistory.AddressTransfers(ctx, addr, from, to, fn)
}

func (h *BackedHistory) SentTxs(ctx context.Context, addr string, from, to uint64, fn func(*chains.Tx) error) error {
	if err := h.ensure(ctx, addr, from, to); err != nil {
		return err
	}
	return h.StoreHistory.SentTxs(ctx, addr, from, to, fn)
}

func (h *BackedHistory) coverageKey(finder, addr string) string {
	if h.Chain == chains.ETH {
		addr = strings.ToLower(addr) // hex: case carries only the checksum
	}
	return fmt.Sprintf("history/%s/%s/%s", h.Chain, finder, addr)
}

// Ensure makes the store hold every block in from..to in which the
// backends place addr (what AddressTransfers does before it reads).
func (h *BackedHistory) Ensure(ctx context.Context, addr string, from, to uint64) error {
	return h.ensure(ctx, addr, from, to)
}

// ensure makes the store hold every block in [from, to] in which the
// backends place addr.
func (h *BackedHistory) ensure(ctx context.Context, addr string, from, to uint64) error {
	type gap struct {
		finder  BlockFinder
		covered []store.Range
		missing []store.Range
	}
	var gaps []gap
	var blocks []uint64
	var claims []Claim
	for _, f := range h.Finders {
		covered, err := h.loadCoverage(f.Name(), addr)
		if err != nil {
			return err
		}
		missing := subtract(store.Range{From: from, To: to}, covered)
		for _, r := range missing {
			h.mu.Lock()
			h.queries++
			h.mu.Unlock()
			if cf, ok := f.(ClaimFinder); ok {
				cs, err := cf.Claims(ctx, addr, r.From, r.To)
				if err != nil {
					return fmt.Errorf("%s history of %s: %w", f.Name(), addr, err)
				}
				for _, c := range cs {
					blocks = append(blocks, c.Block)
				}
				claims = append(claims, cs...)
				continue
			}
			bs, err := f.Blocks(ctx, addr, r.From, r.To)
			if err != nil {
				return fmt.Errorf("%s history of %s: %w", f.Name(), addr, err)
			}
			blocks = append(blocks, bs...)
		}
		if len(missing) > 0 {
			gaps = append(gaps, gap{f, covered, missing})
		}
	}
	if len(gaps) == 0 {
		return nil
	}
	if len(blocks) > 0 {
		if err := h.Index(ctx, blocks); err != nil {
			return err
		}
	}
	if err := h.confirm(claims); err != nil {
		return err
	}
	for _, g := range gaps {
		if err := h.saveCoverage(g.finder.Name(), addr, append(g.covered, g.missing...)); err != nil {
			return err
		}
	}
	return nil
}

// confirm checks each claim against the node's rows of its transaction;
// what the node does not bear out is rejected with a warning. Nothing of a
// claim enters an exhibit either way: rows come from the node's blocks.
func (h *BackedHistory) confirm(claims []Claim) error {
	for _, c := range claims {
		if c.Failed || c.Amount != nil && c.Amount.Sign() == 0 {
			// The explorer says nothing moved (a failed call, or a value-0
			// transaction listed for its fee): nothing to bear out.
			continue
		}
		ok, why, err := h.bornOut(c)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		msg := fmt.Sprintf("explorer claim rejected: %s %s %s from %s to %s in tx %s (block %d): %s",
			c.Kind, c.Amount, c.Asset, c.From, c.To, c.TxHash, c.Block, why)
		h.mu.Lock()
		dup := slices.Contains(h.rejected, msg)
		h.mu.Unlock()
		if dup {
			continue // the same claim, met again in another address's history
		}
		if h.Logger != nil {
			h.Logger.Warn("explorer claim rejected", "tx", c.TxHash, "block", c.Block, "kind", c.Kind,
				"from", c.From, "to", c.To, "asset", c.Asset, "amount", c.Amount, "reason", why)
		}
		h.mu.Lock()
		h.rejected = append(h.rejected, msg)
		h.mu.Unlock()
	}
	return nil
}

func (h *BackedHistory) bornOut(c Claim) (bool, string, error) {
	tx, ok, err := h.Store.TxByHash(h.Chain, c.TxHash)
	if err != nil {
		return false, "", err
	}
	if !ok {
		return false, "the node's block has no such transaction", nil
	}
	if tx.BlockNumber != c.Block {
		return false, fmt.Sprintf("the node has the transaction in block %d", tx.BlockNumber), nil
	}
	rows, err := h.Store.TxTransfers(h.Chain, tx.BlockNumber, tx.Index)
	if err != nil {
		return false, "", err
	}
	closest := ""
	for i := range rows {
		r := &rows[i]
		if r.Kind != c.Kind || !strings.EqualFold(r.Asset, c.Asset) || !strings.EqualFold(r.To, c.To) ||
			len(r.From) == 0 || !strings.EqualFold(r.From[0], c.From) {
			continue
		}
		if c.TokenID != nil && (r.TokenID == nil || r.TokenID.Cmp(c.TokenID) != 0) {
			continue
		}
		if c.Amount != nil && r.Amount.Cmp(c.Amount) != 0 {
			closest = fmt.Sprintf("the node's block moves %s, not %s", r.Amount, c.Amount)
			continue
		}
		return true, "", nil
	}
	if closest != "" {
		return false, closest, nil
	}
	return false, "the node's transaction moves no such value", nil
}

func (h *BackedHistory) loadCoverage(finder, addr string) ([]store.Range, error) {
	b, ok, err := h.Store.Meta(h.coverageKey(finder, addr))
	if err != nil || !ok {
		return nil, err
	}
	var rs []store.Range
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("store: coverage of %s by %s: %w", addr, finder, err)
	}
	return rs, nil
}

func (h *BackedHistory) saveCoverage(finder, addr string, rs []store.Range) error {
	b, err := json.Marshal(merge(rs))
	if err != nil {
		return err
	}
	return h.Store.SetMeta(h.coverageKey(finder, addr), b)
}

// merge sorts ranges and joins overlapping and adjacent ones.
func merge(rs []store.Range) []store.Range {
	sort.Slice(rs, func(i, j int) bool { return rs[i].From < rs[j].From })
	var out []store.Range
	for _, r := range rs {
		if n := len(out); n > 0 && r.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out
}

// subtract returns the parts of w that rs (merged, sorted) do not cover.
func subtract(w store.Range, rs []store.Range) []store.Range {
	var out []store.Range
	next := w.From
	for _, r := range merge(append([]store.Range(nil), rs...)) {
		if r.To < next || r.From > w.To {
			continue
		}
		if r.From > next {
			out = append(out, store.Range{From: next, To: r.From - 1})
		}
		if r.To >= w.To {
			return out
		}
		next = r.To + 1
	}
	return append(out, store.Range{From: next, To: w.To})
}
