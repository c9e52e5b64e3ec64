package contracts_test

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chaintrace/chaintrace/internal/devchain/contracts"
)

func TestCalldata(t *testing.T) {
	a, b := common.HexToAddress("0x1111111111111111111111111111111111111111"), common.HexToAddress("0x2222222222222222222222222222222222222222")
	rc := contracts.RouterCall(contracts.Payment{To: a, Amount: big.NewInt(5)}, contracts.Payment{To: b, Amount: big.NewInt(6)})
	if len(rc) != 128 || common.BytesToAddress(rc[:32]) != a || new(big.Int).SetBytes(rc[32:64]).Int64() != 5 ||
		common.BytesToAddress(rc[64:96]) != b || new(big.Int).SetBytes(rc[96:]).Int64() != 6 {
		t.Fatalf("RouterCall %x", rc)
	}
	for _, c := range []struct {
		sig  string
		data []byte
	}{
		{"transfer(address,uint256)", contracts.ERC20Transfer(a, big.NewInt(1))},
		{"balanceOf(address)", contracts.ERC20BalanceOf(a)},
		{"transferFrom(address,address,uint256)", contracts.ERC721TransferFrom(a, b, big.NewInt(1))},
		{"ownerOf(uint256)", contracts.ERC721OwnerOf(big.NewInt(1))},
	} {
		if !bytes.Equal(c.data[:4], crypto.Keccak256([]byte(c.sig))[:4]) || (len(c.data)-4)%32 != 0 {
			t.Errorf("%s: calldata %x", c.sig, c.data)
		}
	}
	if contracts.TransferTopic != crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)")) {
		t.Error("TransferTopic")
	}
	reason, err := abi.UnpackRevert(contracts.RevertData())
	if err != nil || reason != contracts.RevertReason {
		t.Errorf("RevertData unpacks to %q, %v", reason, err)
	}
	cc := contracts.CatcherCall(a, b, a)
	if len(cc) != 96 || common.BytesToAddress(cc[32:64]) != b {
		t.Errorf("CatcherCall %x", cc)
	}
	for name, code := range map[string][]byte{
		"Router": contracts.Router(), "Reverter": contracts.Reverter(), "Catcher": contracts.Catcher(),
		"Proxy": contracts.Proxy(a), "ERC20": contracts.ERC20(big.NewInt(1)), "ERC721": contracts.ERC721(2),
		"Sweeper": contracts.Sweeper(), "Factory": contracts.Factory(), "Sink": contracts.Sink(),
	} {
		if len(code) == 0 {
			t.Errorf("%s: empty init code", name)
		}
	}
}
