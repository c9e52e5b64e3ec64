package tracer

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strconv"

	"github.com/chaintrace/chaintrace/chains"
	"github.com/chaintrace/chaintrace/heuristics"
)

// Deposits is what the deposit-address heuristic found among candidate
// addresses, and the sender clusters it implies.
type Deposits struct {
	// Found are the deposit addresses recognised, in candidate order.
	Found []*heuristics.Deposit
	// Senders maps each found deposit address to who paid it (labelled
	// services left out), in order of first payment.
	Senders map[string][]string
	// Clusters maps each cluster id ("cluster:" + its least member) to its
	// members, sorted: the senders joined because they paid one deposit
	// address (DESIGN.md: likely one customer). Only clusters of two or
	// more addresses.
	Clusters map[string][]string
	// Findings are one deposit_address finding per found address, in
	// candidate order, then one cluster_merge finding per cluster, by id.
	Findings []heuristics.Finding
}

// ClusterOf gives each clustered sender its cluster id.
func (d *Deposits) ClusterOf() map[string]string {
	m := map[string]string{}
	for id, members := range d.Clusters {
		for _, a := range members {
			m[a] = id
		}
	}
	return m
}

// DetectDeposits runs the deposit-address heuristic d over candidates (each
// checked once, in order) on their history in [from, to], as a trace does:
// flows from AddressTransfers, fees from SentTxs, exchanges and labelled
// services from lb (nil: nothing is labelled), native naming the asset fees
// are paid in. The senders of the deposit addresses found are then joined
// into clusters.
func DetectDeposits(ctx context.Context, h History, lb Labels, candidates []string, from, to uint64, d heuristics.DepositAddress, native string) (*Deposits, error) {
	stop := func(addr string) (string, string, bool) {
		if lb == nil {
			return "", "", false
		}
		return lb.Stop(addr)
	}
	exchange := func(addr string) (string, bool) {
		label, cat, ok := stop(addr)
		return label, ok && cat == "exchange"
	}
	out := &Deposits{Senders: map[string][]string{}, Clusters: map[string][]string{}}
	checked := map[string]bool{}
	var deps []senders
	for _, addr := range candidates {
		if checked[addr] {
			continue
		}
		checked[addr] = true
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var flows []heuristics.Flow
		err := h.AddressTransfers(ctx, addr, from, to, func(t *chains.Transfer) error {
			flows = append(flows, heuristics.Flow{Block: t.BlockNumber, TxHash: t.TxHash, From: t.From[0], To: t.To, Asset: t.Asset, Amount: t.Amount})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("deposit check of %s: %w", addr, err)
		}
		fees := new(big.Int)
		err = h.SentTxs(ctx, addr, from, to, func(tx *chains.Tx) error {
			if tx.Fee != nil {
				fees.Add(fees, tx.Fee)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("deposit check of %s: %w", addr, err)
		}
		if dep := d.Detect(addr, flows, fees, native, exchange); dep != nil {
			out.Found = append(out.Found, dep)
			out.Findings = append(out.Findings, dep.Finding)
			s := depositSenders(addr, flows, stop)
			out.Senders[addr] = s.addrs
			deps = append(deps, s)
		}
	}
	out.senderClusters(deps)
	return out, nil
}

// senders are the payers of one deposit address, and the transactions.
type senders struct {
	addrs, txs []string
}

// depositSenders lists who paid deposit address d, leaving out labelled
// services (an exchange funds its deposit addresses' gas: it is not the
// customer).
func depositSenders(d string, flows []heuristics.Flow, stop func(string) (string, string, bool)) senders {
	var s senders
	for _, f := range flows {
		if f.To != d || f.From == d || f.Amount == nil || f.Amount.Sign() == 0 {
			continue
		}
		if _, _, labelled := stop(f.From); labelled {
			continue
		}
		if !slices.Contains(s.addrs, f.From) {
			s.addrs = append(s.addrs, f.From)
		}
		if !slices.Contains(s.txs, f.TxHash) {
			s.txs = append(s.txs, f.TxHash)
		}
	}
	return s
}

// senderClusters joins the senders to one deposit address (DESIGN.md: they
// are likely one customer) into clusters, each a cluster_merge finding
// with the payments into the deposit addresses as evidence. Confidence 60:
// a shared deposit address is a weaker tie than a co-spent input.
func (out *Deposits) senderClusters(deps []senders) {
	mi := heuristics.NewMultiInput(heuristics.MultiInputOptions{})
	for i, s := range deps {
		mi.Add(heuristics.ClusterTx{TxID: strconv.Itoa(i), InputAddrs: s.addrs})
	}
	evidence := map[string][]string{}
	for _, s := range deps {
		if len(s.addrs) < 2 {
			continue
		}
		members := mi.Members(s.addrs[0])
		id := clusterName(members)
		out.Clusters[id] = members
		for _, tx := range s.txs {
			if !slices.Contains(evidence[id], tx) {
				evidence[id] = append(evidence[id], tx)
			}
		}
	}
	ids := make([]string, 0, len(evidence))
	for id := range evidence {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ev := evidence[id]
		slices.Sort(ev)
		out.Findings = append(out.Findings, heuristics.Finding{Kind: heuristics.KindClusterMerge, Subject: id,
			Evidence: ev, Confidence: 60, Heuristic: heuristics.NameDepositAddress, Version: "1"})
	}
}
