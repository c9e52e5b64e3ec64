package incidents

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/chains"
)

// Node is what Check needs of a node of one chain (EthNode, BtcNode).
type Node interface {
	// Tx finds a mined transaction: found is false when the node knows
	// none of that hash (or has it only in its mempool).
	Tx(ctx context.Context, hash string) (tx *NodeTx, found bool, err error)
	// Block returns a block's transactions and value movements; an error
	// wrapping ErrBeyondTip when the node has no such block yet.
	Block(ctx context.Context, n uint64) (*chains.BlockTransfers, error)
}

// ErrBeyondTip: a block the node does not have yet.
var ErrBeyondTip = errors.New("block beyond the node's tip")

// NodeTx is a transaction as the node holds it, with every value movement
// it made: the top-level value and internal calls and token logs on eth,
// the outputs on btc.
type NodeTx struct {
	Block     uint64
	BlockHash string
	Time      time.Time
	Tx        chains.Tx
	Transfers []chains.Transfer
}

// AddressWindow is how many blocks on each side of an address's stated
// block Check looks for its activity when the block itself shows none.
const AddressWindow = 3

// Status is the outcome of checking one fact.
type Status string

// Outcomes. Only StatusConfirmed and StatusUnchecked are not failures.
const (
	StatusConfirmed   Status = "confirmed"
	StatusUnchecked   Status = "unchecked"           // nothing on chain to compare, or no node for its chain
	StatusMissing     Status = "missing transaction" // the node knows no transaction of that hash
	StatusWrongBlock  Status = "wrong block"
	StatusWrongAmount Status = "wrong amount"
	StatusWrongFromTo Status = "wrong from-to"
	StatusNotInternal Status = "no internal transfer" // stated as moved by an internal call, and none moved value
	StatusFailedTx    Status = "failed transaction"   // mined, but reverted: it moved nothing
	StatusNoActivity  Status = "no activity"          // an address with nothing at or around its stated block
)

// Result is the check of one fact.
type Result struct {
	Kind    string `json:"kind"`    // "date", "amount", "address", "transaction"
	Subject string `json:"subject"` // the date, amount, address or hash as catalogued
	Chain   string `json:"chain,omitempty"`
	Role    string `json:"role,omitempty"`
	// Status is StatusConfirmed, StatusUnchecked, or the first failure;
	// Failures lists every failure (a transaction may be in the wrong
	// block and move the wrong amount).
	Status   Status   `json:"status"`
	Failures []Status `json:"failures,omitempty"`
	// Detail says what was found: "in block 14442835", "stated 998 ETH,
	// moved 999 ETH (call:0 to 0x...)".
	Detail  string   `json:"detail,omitempty"`
	Sources []string `json:"source"`
	// Where is FILE:LINE of the fact in its catalog.
	Where string `json:"where"`
}

// Failed reports a failure.
func (r *Result) Failed() bool { return len(r.Failures) > 0 }

// Report is the check of an incident against nodes.
type Report struct {
	Incident  string   `json:"incident"`
	Results   []Result `json:"results"`
	Confirmed int      `json:"confirmed"`
	Failed    int      `json:"failed"`
	Unchecked int      `json:"unchecked"`
}

// OK reports that no fact failed.
func (r *Report) OK() bool { return r.Failed == 0 }

// Check compares the incident's facts with nodes (by chain code: "eth",
// "btc"):
//
//   - a transaction must exist, be mined in the stated block, have
//     succeeded, have the stated from and to (the transaction's sender and
//     recipient, or the sender and receiver of any value it moved: on eth
//     value moved by an internal call counts, as in the Ronin and Bybit
//     drains), move the stated amount (one movement of the asset, to the
//     stated receiver when one is stated, or all of them together, equal to
//     the amount at the precision stated), and, when stated as moved by an
//     internal call, move value in one;
//   - an address with a stated block must have moved or received value (or
//     sent a transaction) in that block or within AddressWindow blocks of
//     it; one without is confirmed when a confirmed transaction of the
//     incident moved value from or to it, and unchecked otherwise;
//   - an amount of the incident is confirmed when a confirmed transaction
//     of it moved that amount; the date when a confirmed transaction was
//     mined on it; both are unchecked otherwise (neither fails: a drain may
//     follow the day of the theft).
//
// Facts on a chain with no node are unchecked. The error is for a node
// that failed (unreachable, inconsistent answers), not for facts that do
// not hold.
func Check(ctx context.Context, inc *Incident, nodes map[string]Node) (*Report, error) {
	rep := &Report{Incident: inc.ID}
	type found struct {
		tx *Tx
		nt *NodeTx
	}
	var confirmedTxs []found
	var txResults []Result
	for i := range inc.Txs {
		t := &inc.Txs[i]
		r := Result{Kind: "transaction", Subject: t.Hash, Chain: t.Chain, Role: t.Role, Sources: t.Sources, Where: t.Where()}
		node := nodes[t.Chain]
		if node == nil {
			r.Status, r.Detail = StatusUnchecked, "no node for "+t.Chain
			txResults = append(txResults, r)
			continue
		}
		nt, ok, err := node.Tx(ctx, t.Hash)
		if err != nil {
			return nil, fmt.Errorf("incident %s: transaction %s: %w", inc.ID, t.Hash, err)
		}
		if !ok {
			r.fail(StatusMissing, "the node knows no mined transaction of this hash")
			txResults = append(txResults, r)
			continue
		}
		checkTx(t, nt, &r)
		if !r.Failed() {
			r.Status = StatusConfirmed
			confirmedTxs = append(confirmedTxs, found{t, nt})
		}
		txResults = append(txResults, r)
	}

	// The date.
	if inc.Date.Value != "" {
		r := Result{Kind: "date", Subject: inc.Date.Value, Sources: inc.Date.Sources, Where: inc.Date.Where(), Status: StatusUnchecked}
		var days []string
		for _, f := range confirmedTxs {
			day := f.nt.Time.UTC().Format(time.DateOnly)
			if day == inc.Date.Value {
				r.Status, r.Detail = StatusConfirmed, fmt.Sprintf("transaction %s was mined on %s (block %d)", f.tx.Hash, day, f.nt.Block)
				break
			}
			days = append(days, day)
		}
		if r.Status == StatusUnchecked {
			if len(days) > 0 {
				r.Detail = "the confirmed transactions were mined on " + strings.Join(uniq(days), ", ")
			} else {
				r.Detail = "no confirmed transaction to date it by"
			}
		}
		rep.Results = append(rep.Results, r)
	}

	// The incident's amounts.
	for i := range inc.Amounts {
		a := &inc.Amounts[i]
		r := Result{Kind: "amount", Subject: a.String(), Sources: a.Sources, Where: a.Where(), Status: StatusUnchecked}
		if a.Approximate {
			r.Detail = "approximate: not compared with the chain"
		} else {
			r.Detail = "no confirmed transaction moved it"
			for _, f := range confirmedTxs {
				asset, dec, ok := a.OnChain(f.tx.Chain)
				if !ok {
					r.Detail = "not an amount of an asset the catalogued transactions' chains carry (or a token without its contract)"
					continue
				}
				if pos, ok := movedAmount(a, f.nt, asset, dec, ""); ok {
					r.Status, r.Detail, r.Chain = StatusConfirmed, fmt.Sprintf("moved by transaction %s (%s)", f.tx.Hash, pos), f.tx.Chain
					break
				}
			}
		}
		rep.Results = append(rep.Results, r)
	}

	// Addresses.
	for i := range inc.Addresses {
		a := &inc.Addresses[i]
		r := Result{Kind: "address", Subject: a.Canonical, Chain: a.Chain, Role: a.Role, Sources: a.Sources, Where: a.Where(), Status: StatusUnchecked}
		if a.Block > 0 {
			node := nodes[a.Chain]
			if node == nil {
				r.Detail = "no node for " + a.Chain
				rep.Results = append(rep.Results, r)
				continue
			}
			n, err := activity(ctx, node, a.Canonical, a.Block)
			if err != nil {
				return nil, fmt.Errorf("incident %s: address %s: %w", inc.ID, a.Address, err)
			}
			if n > 0 {
				r.Status, r.Detail = StatusConfirmed, fmt.Sprintf("active in block %d", n)
			} else {
				lo := uint64(1)
				if a.Block > AddressWindow {
					lo = a.Block - AddressWindow
				}
				r.fail(StatusNoActivity, fmt.Sprintf("nothing from or to it in blocks %d to %d (stated %d)", lo, a.Block+AddressWindow, a.Block))
			}
			rep.Results = append(rep.Results, r)
			continue
		}
		r.Detail = "no block stated, and in no confirmed transaction of the incident"
		for _, f := range confirmedTxs {
			if f.tx.Chain == a.Chain && touches(f.nt, a.Canonical) {
				r.Status, r.Detail = StatusConfirmed, fmt.Sprintf("in transaction %s (%s)", f.tx.Hash, f.tx.Role)
				break
			}
		}
		rep.Results = append(rep.Results, r)
	}
	rep.Results = append(rep.Results, txResults...)
	for i := range rep.Results {
		switch r := &rep.Results[i]; {
		case r.Failed():
			rep.Failed++
		case r.Status == StatusConfirmed:
			rep.Confirmed++
		default:
			rep.Unchecked++
		}
	}
	return rep, nil
}

func (r *Result) fail(s Status, detail string) {
	if len(r.Failures) == 0 {
		r.Status = s
	}
	r.Failures = append(r.Failures, s)
	if r.Detail != "" {
		r.Detail += "; "
	}
	r.Detail += detail
}

// checkTx compares a catalogued transaction with the node's.
func checkTx(t *Tx, nt *NodeTx, r *Result) {
	if t.Block != 0 && nt.Block != t.Block {
		r.fail(StatusWrongBlock, fmt.Sprintf("stated block %d, mined in block %d", t.Block, nt.Block))
	}
	if !nt.Tx.Success {
		r.fail(StatusFailedTx, "the transaction failed: it moved no value")
	}
	if t.From != "" || t.To != "" {
		fromOK := t.From == "" || sameAddr(nt.Tx.From, t.From)
		toOK := t.To == "" || sameAddr(nt.Tx.To, t.To) || sameAddr(nt.Tx.Created, t.To)
		for i := range nt.Transfers {
			tr := &nt.Transfers[i]
			for _, f := range tr.From {
				fromOK = fromOK || sameAddr(f, t.From)
			}
			toOK = toOK || sameAddr(tr.To, t.To)
		}
		if !fromOK || !toOK {
			r.fail(StatusWrongFromTo, fmt.Sprintf("stated from %s to %s; %s", orNone(t.From), orNone(t.To), describe(nt)))
		}
	}
	if t.Internal && t.Chain == ChainETH {
		internal := false
		for i := range nt.Transfers {
			internal = internal || nt.Transfers[i].Kind == chains.KindInternal
		}
		if !internal && nt.Tx.Success {
			r.fail(StatusNotInternal, "stated as moved by an internal call; no internal call moved value ("+describe(nt)+")")
		}
	}
	if t.Amount != nil {
		asset, dec, ok := t.Amount.OnChain(t.Chain)
		if !ok {
			r.Detail = joinDetail(r.Detail, "amount "+t.Amount.String()+" not compared (no on-chain unit: give token and decimals for a token)")
		} else if pos, ok := movedAmount(t.Amount, nt, asset, dec, t.To); !ok && nt.Tx.Success {
			r.fail(StatusWrongAmount, fmt.Sprintf("stated %s, moved %s", t.Amount.String(), moved(nt, asset, dec, t.To, t.Amount.Unit)))
		} else if ok {
			r.Detail = joinDetail(r.Detail, "moved "+t.Amount.String()+" ("+pos+")")
		}
	}
	if !r.Failed() {
		r.Detail = joinDetail(fmt.Sprintf("in block %d", nt.Block), r.Detail)
	}
}

// movedAmount finds the amount among the transaction's movements of
// asset (to `to` when given, else any): one movement, or all of them
// together. It returns where: a position, or "sum of N movements".
func movedAmount(a *Amount, nt *NodeTx, asset string, dec int, to string) (string, bool) {
	var cands []*chains.Transfer
	for i := range nt.Transfers {
		tr := &nt.Transfers[i]
		if strings.EqualFold(tr.Asset, asset) && (to == "" || sameAddr(tr.To, to)) && tr.Amount != nil {
			cands = append(cands, tr)
		}
	}
	sum := new(big.Int)
	for _, tr := range cands {
		if ok, _ := a.Matches(tr.Amount, dec); ok {
			return tr.Position + " to " + tr.To, true
		}
		sum.Add(sum, tr.Amount)
	}
	if len(cands) > 1 {
		if ok, _ := a.Matches(sum, dec); ok {
			return fmt.Sprintf("sum of %d movements", len(cands)), true
		}
	}
	return "", false
}

// moved describes what the transaction moved of asset, for a report.
func moved(nt *NodeTx, asset string, dec int, to, unit string) string {
	var parts []string
	for i := range nt.Transfers {
		tr := &nt.Transfers[i]
		if strings.EqualFold(tr.Asset, asset) && (to == "" || sameAddr(tr.To, to)) && tr.Amount != nil {
			parts = append(parts, fmt.Sprintf("%s %s (%s to %s)", FromBase(tr.Amount, dec), unit, tr.Position, tr.To))
		}
	}
	if len(parts) == 0 {
		if to != "" {
			return "no " + unit + " to " + to
		}
		return "no " + unit
	}
	return strings.Join(parts, ", ")
}

// describe says who sent the transaction and where its value went.
func describe(nt *NodeTx) string {
	to := nt.Tx.To
	if to == "" {
		to = "a contract creation"
	}
	s := fmt.Sprintf("the transaction is from %s to %s", orNone(nt.Tx.From), to)
	var mv []string
	for i := range nt.Transfers {
		tr := &nt.Transfers[i]
		if len(mv) == 8 {
			mv = append(mv, fmt.Sprintf("and %d more", len(nt.Transfers)-8))
			break
		}
		mv = append(mv, fmt.Sprintf("%s %s from %s to %s", tr.Position, tr.Asset, strings.Join(tr.From, "+"), tr.To))
	}
	if len(mv) > 0 {
		s += "; value moved: " + strings.Join(mv, ", ")
	} else {
		s += "; it moved no value"
	}
	return s
}

// touches reports whether the transaction sent from or to addr, or moved
// value from or to it.
func touches(nt *NodeTx, addr string) bool {
	if sameAddr(nt.Tx.From, addr) || sameAddr(nt.Tx.To, addr) || sameAddr(nt.Tx.Created, addr) {
		return true
	}
	for i := range nt.Transfers {
		tr := &nt.Transfers[i]
		if sameAddr(tr.To, addr) {
			return true
		}
		for _, f := range tr.From {
			if sameAddr(f, addr) {
				return true
			}
		}
	}
	return false
}

// activity returns the block nearest to b (b first, then b-1, b+1, ...,
// up to AddressWindow away) in which addr was active, or 0.
func activity(ctx context.Context, node Node, addr string, b uint64) (uint64, error) {
	for d := uint64(0); d <= AddressWindow; d++ {
		cands := []uint64{b + d}
		if d > 0 {
			cands = []uint64{b - d, b + d}
			if d >= b {
				cands = cands[1:]
			}
		}
		for _, n := range cands {
			blk, err := node.Block(ctx, n)
			if errors.Is(err, ErrBeyondTip) {
				continue
			}
			if err != nil {
				return 0, err
			}
			for i := range blk.Txs {
				tx := &blk.Txs[i]
				if sameAddr(tx.From, addr) || sameAddr(tx.To, addr) || sameAddr(tx.Created, addr) {
					return n, nil
				}
			}
			for i := range blk.Transfers {
				tr := &blk.Transfers[i]
				if sameAddr(tr.To, addr) {
					return n, nil
				}
				for _, f := range tr.From {
					if sameAddr(f, addr) {
						return n, nil
					}
				}
			}
		}
	}
	return 0, nil
}

// TxOf picks a transaction and its movements out of a decoded block.
func TxOf(blk *chains.BlockTransfers, hash string) (*NodeTx, bool) {
	h := strings.TrimPrefix(strings.ToLower(hash), "0x")
	for i := range blk.Txs {
		if strings.TrimPrefix(strings.ToLower(blk.Txs[i].Hash), "0x") != h {
			continue
		}
		nt := &NodeTx{Block: blk.Block.Number, BlockHash: blk.Block.Hash, Time: time.Unix(int64(blk.Block.Timestamp), 0).UTC(), Tx: blk.Txs[i]}
		for j := range blk.Transfers {
			if strings.TrimPrefix(strings.ToLower(blk.Transfers[j].TxHash), "0x") == h {
				nt.Transfers = append(nt.Transfers, blk.Transfers[j])
			}
		}
		return nt, true
	}
	return nil, false
}

// sameAddr compares addresses: eth case-insensitively, bech32 too; base58
// is case-sensitive, but two distinct base58 addresses never differ only
// in case in practice, and the catalog holds canonical forms.
func sameAddr(a, b string) bool {
	return a != "" && b != "" && strings.EqualFold(a, b)
}

func orNone(s string) string {
	if s == "" {
		return "(not stated)"
	}
	return s
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func uniq(ss []string) []string {
	sort.Strings(ss)
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}
