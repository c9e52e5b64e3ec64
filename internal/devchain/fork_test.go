package devchain_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/chaintrace/chaintrace/internal/devchain"
)

// TestForkReorganises: Fork drops the blocks above its parent from the
// canonical chain as a reorganisation does, over JSON-RPC too; their
// transactions go back to the pool and are mined again on the new branch,
// unless RollbackPool drops them.
func TestForkReorganises(t *testing.T) {
	n := start(t, devchain.Config{Funded: []string{"alice"}})
	ec := ethclient.NewClient(dial(t, n))
	ctx := context.Background()
	bob := devchain.Addr("bob")
	hashAt := func(num uint64) common.Hash {
		t.Helper()
		h, err := ec.HeaderByNumber(ctx, new(big.Int).SetUint64(num))
		if err != nil {
			t.Fatalf("header %d: %v", num, err)
		}
		return h.Hash()
	}

	base := must(n.Commit()) // an empty block to fork from
	tx := must(n.Transact(devchain.Key("alice"), &bob, eth(3), nil, 0))
	first := must(n.Commit())
	must(n.Commit())
	old := hashAt(first)
	if r, err := n.Receipt(tx.Hash()); err != nil || r.BlockNumber.Uint64() != first {
		t.Fatalf("tx not in block %d: %v", first, err)
	}

	// A fork that keeps the pool: the transaction is mined again, in a
	// block of the new branch with another hash.
	if err := n.Fork(base); err != nil {
		t.Fatal(err)
	}
	if n.Head() != base {
		t.Fatalf("head %d after Fork(%d)", n.Head(), base)
	}
	again := must(n.Commit())
	if again != first || hashAt(again) == old {
		t.Fatalf("new branch block %d hash %s (old %s)", again, hashAt(again), old)
	}
	if r, err := n.Receipt(tx.Hash()); err != nil || r.BlockHash != hashAt(again) {
		t.Fatalf("the dropped transaction was not mined again on the new branch: %v", err)
	}
	wantBalance(t, n, "bob", bob, eth(3))
	if _, err := ec.HeaderByHash(ctx, old); err != nil {
		t.Errorf("the side-chain block %s is gone: %v", old, err)
	}

	// A fork with the pool rolled back: the transaction is gone.
	if err := n.Fork(base); err != nil {
		t.Fatal(err)
	}
	if err := n.RollbackPool(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		must(n.Commit())
	}
	if n.Head() != base+3 {
		t.Fatalf("head %d, want %d", n.Head(), base+3)
	}
	if _, err := n.Receipt(tx.Hash()); err == nil {
		t.Fatal("the rolled-back transaction is still on the canonical chain")
	}
	wantBalance(t, n, "bob", bob, new(big.Int))
	// The sender can send again with the nonce the dropped transaction had.
	tx2 := must(n.Transact(devchain.Key("alice"), &bob, eth(1), nil, 0))
	if tx2.Nonce() != tx.Nonce() {
		t.Errorf("nonce after rollback %d, want %d", tx2.Nonce(), tx.Nonce())
	}
	must(n.Commit())
	wantBalance(t, n, "bob", bob, eth(1))

	// Fork refuses uncommitted transactions and blocks past the head.
	must(n.Transact(devchain.Key("alice"), &bob, eth(1), nil, 0))
	if err := n.Fork(base); err == nil {
		t.Error("Fork with an uncommitted transaction succeeded")
	}
	must(n.Commit())
	if err := n.Fork(n.Head() + 1); err == nil {
		t.Error("Fork past the head succeeded")
	}
}
