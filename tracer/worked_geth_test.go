package tracer_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/chaintrace/chaintrace/tracer"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// The parties of the worked example on geth.
const (
	workedSeed   = "worked-seed"   // the thief: S
	workedClean  = "worked-clean"  // a clean wallet: K (also deploys the Router)
	workedSender = "worked-sender" // A: empty until S and K pay it
	workedX      = "worked-x"
	workedY      = "worked-y"
	workedZ      = "worked-z"
)

// workedGasPrice is the gas price of A's Router call, a legacy
// transaction, so that its fee is exactly gasUsed * workedGasPrice. A
// multiple of 10 keeps every figure of the example a whole number of wei.
var workedGasPrice = big.NewInt(10_000_000_000) // 10 gwei, above any base fee of the dev chain

// workedCall is A's Router call for unit u: 4u to X, then 5.9u to Y,
// then nothing to Z.
//
// The payment of nothing is what lets A's whole balance, 9.9u + the fee,
// pay for the call. A CALL with value hands its callee a stipend of 2,300
// gas on top of what it forwards, and the callee (an account without
// code) hands it all back: a call whose last CALL moves value needs a gas
// limit about 2,300 above the gas it uses, and a sender must hold value +
// limit * price, so A would keep that surplus. The CALL of no value to the
// cold, empty Z costs more than the stipend after the last one came back,
// so the gas the call needs at its peak is no more than what it uses: a
// limit of exactly the gas used suffices and A ends with nothing. Z
// receives nothing, so it has no row.
func workedCall(u *big.Int) []byte {
	return contracts.RouterCall(
		contracts.Payment{To: devchain.Addr(workedX), Amount: hundredths(400, u)},
		contracts.Payment{To: devchain.Addr(workedY), Amount: hundredths(590, u)},
		contracts.Payment{To: devchain.Addr(workedZ), Amount: new(big.Int)})
}

// hundredths is n hundredths of u.
func hundredths(n int64, u *big.Int) *big.Int {
	v := new(big.Int).Mul(big.NewInt(n), u)
	return v.Quo(v, big.NewInt(100))
}

// workedFunded are the genesis accounts of the worked example's chain: A,
// X, Y and Z are fresh.
var workedFunded = []string{workedSeed, workedClean}

// routerGasUsed runs A's Router call with calldata data on a scratch dev
// chain shaped like the real one (the Router deployed by K first; X, Y
// and Z fresh; A funded in genesis, which its gas does not depend on) and
// returns the gas it used.
func routerGasUsed(data []byte, value *big.Int) (uint64, error) {
	n, err := devchain.Start(devchain.Config{Funded: append([]string{workedSender}, workedFunded...)})
	if err != nil {
		return 0, err
	}
	defer n.Close()
	router, err := n.Deploy(devchain.Key(workedClean), contracts.Router(), nil)
	if err != nil {
		return 0, err
	}
	tx, err := n.TransactLegacy(devchain.Key(workedSender), &router, value, data, 0)
	if err != nil {
		return 0, err
	}
	if _, err := n.Commit(); err != nil {
		return 0, err
	}
	r, err := n.Receipt(tx.Hash())
	if err != nil {
		return 0, err
	}
	if r.Status != types.ReceiptStatusSuccessful {
		return 0, fmt.Errorf("scratch router call %s failed", tx.Hash())
	}
	return r.GasUsed, nil
}

// workedUnit finds the unit U for which A's Router call (value 9.9U, 4U
// to X, 5.9U to Y, nothing to Z) uses g gas with g * workedGasPrice = 0.1U: U =
// 10 * g * workedGasPrice. The call's gas depends on its calldata, which
// holds the amounts, so it is measured until U and g agree.
func workedUnit() (u *big.Int, gas uint64, err error) {
	gas = 100_000 // a first guess
	for range 8 {
		u = new(big.Int).Mul(big.NewInt(int64(10*gas)), workedGasPrice)
		used, err := routerGasUsed(workedCall(u), hundredths(990, u))
		if err != nil {
			return nil, 0, err
		}
		if used == gas {
			return u, gas, nil
		}
		gas = used
	}
	return nil, 0, fmt.Errorf("the Router call's gas does not settle (last %d)", gas)
}

// TestWorkedExampleGeth is DESIGN.md's worked example on an account chain,
// on a real geth: A, empty, receives 3U from the seed S, then 7U from a
// clean wallet K, and sends its whole balance in one transaction: 9.9U to
// a Router, which pays X 4U and then Y 5.9U (internal transfers; then Z
// nothing, see workedCall), and a fee of exactly 0.1U (a legacy
// transaction: gasUsed * gasPrice, its gas limit exactly that gas). Indexed
// into a store and walked from S with all five models at once, the
// Router's payments to X and Y carry the table's figures under each
// model, and A's fee its fee figures.
func TestWorkedExampleGeth(t *testing.T) {
	u, gas, err := workedUnit()
	if err != nil {
		t.Fatal(err)
	}
	fee := hundredths(10, u)
	t.Logf("U = %s wei: the Router call uses %d gas at %s wei, a fee of %s = 0.1U", u, gas, workedGasPrice, fee)
	a, xAddr, yAddr := devchain.Addr(workedSender), devchain.Addr(workedX), devchain.Addr(workedY)
	var router common.Address
	var callTx *types.Transaction
	play := func(n *devchain.Node) (*scenario.Truth, error) {
		var err error
		if router, err = n.Deploy(devchain.Key(workedClean), contracts.Router(), nil); err != nil {
			return nil, err
		}
		if bal, err := n.Balance(a); err != nil || bal.Sign() != 0 {
			return nil, fmt.Errorf("A opens with %v wei (%v), want none", bal, err)
		}
		pay := func(from string, amount *big.Int) (uint64, error) {
			if _, err := n.Transact(devchain.Key(from), &a, amount, nil, 0); err != nil {
				return 0, err
			}
			return n.Commit()
		}
		first, err := pay(workedSeed, hundredths(300, u))
		if err != nil {
			return nil, err
		}
		if _, err := pay(workedClean, hundredths(700, u)); err != nil {
			return nil, err
		}
		// A's call, signed here for its gas price and a gas limit of
		// exactly what it uses: A holds value + limit * price, no more.
		callTx, err = types.SignNewTx(devchain.Key(workedSender), n.Signer(), &types.LegacyTx{
			Nonce: 0, GasPrice: workedGasPrice, Gas: gas, To: &router, Value: hundredths(990, u), Data: workedCall(u)})
		if err != nil {
			return nil, err
		}
		if err := n.Backend().TxPool().Add([]*types.Transaction{callTx}, true)[0]; err != nil {
			return nil, fmt.Errorf("A's router call: %w", err)
		}
		last, err := n.Commit()
		if err != nil {
			return nil, err
		}
		r, err := n.Receipt(callTx.Hash())
		if err != nil {
			return nil, err
		}
		if r.Status != types.ReceiptStatusSuccessful || r.GasUsed != gas || r.EffectiveGasPrice.Cmp(workedGasPrice) != 0 {
			return nil, fmt.Errorf("A's router call: status %d, gas used %d at %s, want %d at %s", r.Status, r.GasUsed, r.EffectiveGasPrice, gas, workedGasPrice)
		}
		if bal, err := n.Balance(a); err != nil || bal.Sign() != 0 {
			return nil, fmt.Errorf("A keeps %v wei (%v), want none", bal, err)
		}
		return &scenario.Truth{Name: "worked example", First: first, Last: last, Seeds: []common.Address{devchain.Addr(workedSeed)}}, nil
	}
	x := setup(t, play, workedFunded)
	if f := x.fee(t, callTx.Hash().Hex()); f.Cmp(fee) != 0 {
		t.Fatalf("A's fee is %s, want 0.1U = %s", f, fee)
	}

	res, err := tracer.Trace(context.Background(), x.hist, nil, tracer.Config{Seeds: []string{devchain.Addr(workedSeed).Hex()},
		Models: workedModels, MaxHops: 10, FromBlock: x.truth.First, ToBlock: x.truth.Last, NativeAsset: chains.AssetETH})
	if err != nil {
		t.Fatal(err)
	}
	unit := hundredths(1, u)
	txid := callTx.Hash().Hex()
	// A -> Router: A's whole tape but the fee (FIFO: the 3 tainted first;
	// LIFO: the 7 clean first, then 2.9 of the 3; TIHO: the 3 to the
	// largest outflow; haircut: 30%).
	toRouter := rowsFrom(res, a.Hex(), chains.AssetETH)
	if len(toRouter) != 1 || toRouter[0].TxHash != txid || toRouter[0].To != router.Hex() {
		t.Fatalf("A's outflows: %d rows, want the one to the Router in %s", len(toRouter), txid)
	}
	for m, k := range workedModels {
		want := hundredths([]int64{300, 290, 300, 297, 990}[m], u)
		t.Logf("%-7s A -> Router: %s of %s", k, toRouter[0].Figures.Total[m], toRouter[0].Amount)
		if got := toRouter[0].Figures.Total[m]; got.Cmp(want) != 0 {
			t.Errorf("%s: A -> Router carries %s, want %s", k, got, want)
		}
	}
	// Router -> X, Router -> Y: the table's outputs.
	fromRouter := rowsFrom(res, router.Hex(), chains.AssetETH)
	if len(fromRouter) != 2 {
		t.Errorf("the Router's outflows: %d rows, want 2", len(fromRouter))
	}
	checkWorkedRows(t, fromRouter, txid, map[string]int{xAddr.Hex(): 0, yAddr.Hex(): 1}, unit)
	// A's fee: the table's fee.
	var rc *tracer.TxReconciliation
	for i := range res.Reconciliation {
		if r := &res.Reconciliation[i]; r.TxHash == txid && r.Asset == chains.AssetETH {
			rc = r
		}
	}
	if rc == nil {
		t.Fatalf("no reconciliation of %s", txid)
	}
	if err := rc.Check(); err != nil {
		t.Error(err)
	}
	// What the loaded senders gave up in it: A's 9.9U and fee, the
	// Router's 4U and 5.9U.
	if rc.Fee.Cmp(fee) != 0 || rc.ValueIn.Cmp(hundredths(1990, u)) != 0 {
		t.Errorf("reconciliation of %s: value in %s, fee %s; want 19.9U = %s, 0.1U = %s", txid, rc.ValueIn, rc.Fee, hundredths(1990, u), fee)
	}
	checkWorkedFee(t, *rc, unit)
}
