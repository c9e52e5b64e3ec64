package store

import (
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
)

func sentHashes(t *testing.T, s *Store, addr string, from, to uint64) []string {
	t.Helper()
	var out []string
	if err := s.SentTxs(chains.ETH, addr, from, to, func(tx *chains.Tx) error {
		if tx.From != addr {
			t.Errorf("SentTxs(%s) yielded a tx from %s", addr, tx.From)
		}
		out = append(out, tx.Hash)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSentTxs: every transaction an address sent is listed, also one that
// failed and moved nothing (its fee was still paid), and none survives a
// rewrite of its block that no longer has it.
func TestSentTxs(t *testing.T) {
	s := openStore(t, t.TempDir())
	const alice, bob = "0x00000000000000000000000000000000000A11cE", "0x0000000000000000000000000000000000000b0b"
	b1 := block(1, hash32("block", 1), xfer(1, 0, 0, []string{alice}, bob, big.NewInt(5)))
	// A failed transaction from alice: a tx record, no transfer.
	failed := chains.Tx{Hash: hash32("tx", 99), BlockNumber: 1, Index: 1, From: alice, To: bob, Value: big.NewInt(7), Fee: big.NewInt(21000), Success: false}
	b1.Txs = append(b1.Txs, failed)
	b1.Block.TxCount = 2
	b2 := block(2, hash32("block", 2), xfer(2, 0, 0, []string{bob}, alice, big.NewInt(1)))
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{b1, b2}); err != nil {
		t.Fatal(err)
	}
	got := sentHashes(t, s, alice, 1, 2)
	if len(got) != 2 || got[0] != b1.Txs[0].Hash || got[1] != failed.Hash {
		t.Fatalf("alice sent %v, want the transfer tx and the failed tx", got)
	}
	if got := sentHashes(t, s, bob, 1, 2); len(got) != 1 || got[0] != b2.Txs[0].Hash {
		t.Fatalf("bob sent %v", got)
	}
	if got := sentHashes(t, s, bob, 1, 1); len(got) != 0 {
		t.Fatalf("window 1-1: bob sent %v", got)
	}
	// Sent refs do not show up as transfers.
	var n int
	s.AddressTransfers(chains.ETH, alice, Both, 1, 2, func(*chains.Transfer) error { n++; return nil })
	if n != 2 {
		t.Fatalf("alice has %d transfers, want 2", n)
	}
	// A reorg replaces block 1 with one where carol sent the only tx.
	const carol = "0x00000000000000000000000000000000000ca201"
	r1 := block(1, hash32("reorg", 1), xfer(1, 0, 0, []string{carol}, bob, big.NewInt(5)))
	if err := s.WriteBlocks(chains.ETH, []*chains.BlockTransfers{r1}); err != nil {
		t.Fatal(err)
	}
	if got := sentHashes(t, s, alice, 1, 2); len(got) != 0 {
		t.Fatalf("after the reorg alice still sent %v", got)
	}
	if got := sentHashes(t, s, carol, 1, 2); len(got) != 1 {
		t.Fatalf("after the reorg carol sent %v", got)
	}
}
