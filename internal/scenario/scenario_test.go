package scenario_test

import (
	"testing"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
	"github.com/ethereum/go-ethereum/core/types"
)

func TestUpbit2019PlaysAsRecorded(t *testing.T) {
	node, err := devchain.Start(devchain.Config{Funded: scenario.Upbit2019Funded})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	truth, err := scenario.PlayUpbit2019(node)
	if err != nil {
		t.Fatal(err)
	}
	// Every movement the truth records was mined and succeeded.
	for _, m := range truth.Moves {
		r, err := node.Receipt(m.Tx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			t.Errorf("movement %s -> %s in %s failed", m.From, m.To, m.Tx)
		}
		if r.BlockNumber.Uint64() < truth.First || r.BlockNumber.Uint64() > truth.Last {
			t.Errorf("movement %s outside the window %d-%d", m.Tx, truth.First, truth.Last)
		}
	}
	// Contracts that only receive (mixer, bridge) hold exactly what the
	// truth says reached them.
	for _, l := range truth.Labels {
		if l.Category != "mixing_service" && l.Category != "bridge" {
			continue
		}
		bal, err := node.Balance(l.Address)
		if err != nil {
			t.Fatal(err)
		}
		if want := truth.Endpoints[l.Address]["ETH"]; want == nil || bal.Cmp(want) != 0 {
			t.Errorf("%s holds %s, truth says %v", l.Label, bal, want)
		}
	}
	if len(truth.Controlled) < 25 || len(truth.Deposits) < 10 {
		t.Errorf("scenario smaller than designed: %d controlled, %d deposits", len(truth.Controlled), len(truth.Deposits))
	}
}
