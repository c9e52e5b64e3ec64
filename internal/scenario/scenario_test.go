package scenario_test

import (
	"testing"

	"github.com/chaintrace/chaintrace/internal/devchain"
	"github.com/chaintrace/chaintrace/internal/scenario"
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
	checkPlayed(t, node, truth)
	if len(truth.Controlled) < 25 || len(truth.Deposits) < 10 {
		t.Errorf("scenario smaller than designed: %d controlled, %d deposits", len(truth.Controlled), len(truth.Deposits))
	}
}
