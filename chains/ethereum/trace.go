package ethereum

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// Frame is one call frame in a form common to both trace formats.
type Frame struct {
	Type    string // CALL, STATICCALL, DELEGATECALL, CALLCODE, CREATE, CREATE2, SELFDESTRUCT
	From    common.Address
	To      common.Address // the callee, the created contract, or the selfdestruct beneficiary
	Value   *big.Int
	Error   string // set on the root of a reverted subtree only, as nodes report it
	Address []int  // trace address; empty for the root (the transaction itself)
	// Incomplete marks a frame the node described without the fields that
	// say where value went: old geth callTracers wrote SELFDESTRUCT as a bare
	// {"type":"SELFDESTRUCT"}, with no beneficiary or balance.
	Incomplete bool
}

// TxTrace is the frames of one transaction in depth-first pre-order, root first.
type TxTrace struct {
	TxHash common.Hash // zero when the node did not say
	Frames []Frame
}

// Position renders the exhibit position of a non-root frame: "call:0.2.1".
func (f *Frame) Position() string {
	parts := make([]string, len(f.Address))
	for i, a := range f.Address {
		parts[i] = strconv.Itoa(a)
	}
	return "call:" + strings.Join(parts, ".")
}

// MovesValue reports whether the frame type can move value between the two
// addresses it names. DELEGATECALL and CALLCODE run the callee's code in the
// caller's context: the value they report stays with the caller.
func (f *Frame) MovesValue() bool {
	switch f.Type {
	case "CALL", "CREATE", "CREATE2", "SELFDESTRUCT":
		return true
	}
	return false
}

// flattenCallFrame turns a callTracer tree into pre-order frames.
func flattenCallFrame(root *callFrame) []Frame {
	var out []Frame
	var walk func(f *callFrame, addr []int)
	walk = func(f *callFrame, addr []int) {
		fr := Frame{
			Type:    strings.ToUpper(f.Type),
			From:    f.From,
			Value:   f.Value.Big(),
			Error:   f.Error,
			Address: slices.Clone(addr),
		}
		if f.To != nil {
			fr.To = *f.To
		}
		if fr.Type == "SELFDESTRUCT" && (f.To == nil || f.Value == nil) {
			fr.Incomplete = true
		}
		out = append(out, fr)
		for i := range f.Calls {
			walk(&f.Calls[i], append(addr, i))
		}
	}
	walk(root, nil)
	return out
}

// parityFrame converts one Parity-style frame. ok is false for frame kinds
// that are not transaction frames (block and uncle rewards).
func parityFrame(t *parityTrace) (Frame, bool, error) {
	fr := Frame{Error: t.Error, Address: slices.Clone(t.TraceAddress)}
	switch t.Type {
	case "call":
		fr.Type = strings.ToUpper(t.Action.CallType)
		if fr.Type == "" {
			fr.Type = "CALL"
		}
		fr.From = t.Action.From
		if t.Action.To != nil {
			fr.To = *t.Action.To
		}
		fr.Value = t.Action.Value.Big()
	case "create":
		fr.Type = "CREATE"
		if strings.EqualFold(t.Action.CreationMethod, "create2") {
			fr.Type = "CREATE2"
		}
		fr.From = t.Action.From
		if t.Result != nil && t.Result.Address != nil {
			fr.To = *t.Result.Address
		}
		fr.Value = t.Action.Value.Big()
	case "suicide", "selfdestruct":
		fr.Type = "SELFDESTRUCT"
		fr.From = t.Action.Address
		fr.To = t.Action.RefundAddress
		fr.Value = t.Action.Balance.Big()
	case "reward":
		return Frame{}, false, nil
	default:
		return Frame{}, false, fmt.Errorf("unknown trace type %q", t.Type)
	}
	return fr, true, nil
}

// groupParity splits a block's flat Parity traces into per-transaction
// traces indexed by transaction position, frames sorted depth-first.
func groupParity(traces []parityTrace, txCount int) ([]TxTrace, error) {
	out := make([]TxTrace, txCount)
	for i := range traces {
		t := &traces[i]
		fr, ok, err := parityFrame(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if t.TransactionPosition == nil {
			return nil, fmt.Errorf("trace frame %v has no transaction position", t.TraceAddress)
		}
		pos := int(*t.TransactionPosition)
		if pos >= txCount {
			return nil, fmt.Errorf("trace frame for transaction %d, block has %d", pos, txCount)
		}
		if t.TransactionHash != nil {
			out[pos].TxHash = *t.TransactionHash
		}
		out[pos].Frames = append(out[pos].Frames, fr)
	}
	for i := range out {
		slices.SortStableFunc(out[i].Frames, func(a, b Frame) int { return slices.Compare(a.Address, b.Address) })
	}
	return out, nil
}

// internalFrames returns the frames of a transaction that moved value: not
// the root (that is the transaction's own value), not inside a reverted
// subtree, of a kind that moves value, with a non-zero amount. The index
// returned with each is its depth-first position among all non-root frames.
// An incomplete frame that may have moved value is an error: losing it
// silently would understate where the money went.
func internalFrames(frames []Frame) ([]indexedFrame, error) {
	var out []indexedFrame
	// reverted holds, per depth, whether the frame open at that depth (or an
	// ancestor) reverted. Pre-order lets a stack indexed by depth do this.
	var reverted []bool
	for i := range frames {
		f := &frames[i]
		d := len(f.Address)
		rev := f.Error != ""
		if d > 0 && d-1 < len(reverted) && reverted[d-1] {
			rev = true
		}
		reverted = append(reverted[:min(d, len(reverted))], rev)
		if d == 0 || rev {
			continue
		}
		if f.Incomplete {
			return nil, fmt.Errorf("%w: %s frame at %s names no beneficiary or value (an old geth callTracer?); use a node answering trace_block, or a newer geth",
				ErrIncompleteTrace, f.Type, f.Position())
		}
		if !f.MovesValue() || f.Value == nil || f.Value.Sign() == 0 {
			continue
		}
		out = append(out, indexedFrame{Frame: f, Index: i - 1})
	}
	return out, nil
}

type indexedFrame struct {
	*Frame
	Index int
}
