// Package contracts holds tiny hand-assembled EVM contracts (built with
// go-ethereum's core/vm/program, no solc) that exercise the value-flow
// patterns a forensics tracer must follow: fan-out payments, reverted inner
// calls, caught failures, delegatecall proxies, ERC-20 and ERC-721 transfers,
// SELFDESTRUCT sweeps and CREATE with endowment.
//
// Every constructor function returns INIT code (the constructor, which
// returns the runtime code); deploy it with a contract-creation transaction.
// Each contract documents its calldata layout; the Go helpers next to it
// encode that calldata. All words are 32 bytes, big-endian; addresses are
// left-padded to 32 bytes. None of the contracts check msg.value unless said.
package contracts

import (
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
)

// TransferTopic is keccak256("Transfer(address,address,uint256)"), topic 0 of
// both the ERC-20 and the ERC-721 Transfer event.
var TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))

// Function selectors used by the token contracts.
const (
	SelTransfer     uint32 = 0xa9059cbb // transfer(address,uint256)
	SelBalanceOf    uint32 = 0x70a08231 // balanceOf(address)
	SelTransferFrom uint32 = 0x23b872dd // transferFrom(address,address,uint256)
	SelOwnerOf      uint32 = 0x6352211e // ownerOf(uint256)
)

// RevertReason is the Error(string) message every Reverter revert carries.
const RevertReason = "chaintrace: reverted"

// word left-pads b to 32 bytes.
func word(b []byte) []byte { return common.LeftPadBytes(b, 32) }

func amountWord(v *big.Int) []byte {
	if v == nil {
		return make([]byte, 32)
	}
	if v.Sign() < 0 || v.BitLen() > 256 {
		panic("contracts: amount out of uint256 range")
	}
	return word(v.Bytes())
}

func selector(sel uint32) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], sel)
	return b[:]
}

// Sink: runtime is a single STOP, so it accepts any call and any value and
// does nothing. Calldata: ignored.
func Sink() []byte { return deployer(sinkRuntime) }

var sinkRuntime = []byte{byte(vm.STOP)}

// Payment is one (recipient, amount) pair of a Router call.
type Payment struct {
	To     common.Address
	Amount *big.Int
}

// Router is a payable fan-out.
//
// Calldata: N × 64 bytes, each chunk = (address left-padded to 32 bytes,
// uint256 amount). Trailing bytes that do not form a full 64-byte chunk are
// ignored. Empty calldata is a no-op that keeps msg.value.
//
// For each pair in order it does CALL(gas: all remaining gas (GAS opcode, so
// 63/64 of it per EIP-150), to: address, value: amount, no input, no output).
// If any call fails the whole transaction reverts, bubbling the callee's
// revert data. The payments are made from the contract's balance, which
// msg.value tops up; any value not paid out stays in the Router.
func Router() []byte { return deployer(routerRuntime()) }

func routerRuntime() []byte {
	a := newAsm()
	a.Push(0) // [i]
	a.label("loop")
	a.Push(64)
	a.Op(vm.DUP2, vm.ADD)        // [i+64, i]
	a.Op(vm.CALLDATASIZE, vm.LT) // [size < i+64, i]
	a.jumpIf("done")             // [i]
	// CALL(gas, addr, value, inOff, inSize, outOff, outSize)
	a.Push(0).Op(vm.DUP1, vm.DUP1, vm.DUP1)            // [0,0,0,0,i]
	a.Op(vm.DUP5).Push(32).Op(vm.ADD, vm.CALLDATALOAD) // [amount,0,0,0,0,i]
	a.Op(vm.DUP6, vm.CALLDATALOAD)                     // [addr,amount,0,0,0,0,i]
	a.Op(vm.GAS, vm.CALL)                              // [ok, i]
	a.Op(vm.ISZERO)
	a.jumpIf("fail") // [i]
	a.Push(64).Op(vm.ADD)
	a.jump("loop")
	a.label("done")
	a.Op(vm.STOP)
	a.label("fail")
	a.bubbleRevert()
	return a.code()
}

// RouterCall encodes Router calldata for the given payments.
func RouterCall(pairs ...Payment) []byte {
	out := make([]byte, 0, 64*len(pairs))
	for _, p := range pairs {
		out = append(out, word(p.To.Bytes())...)
		out = append(out, amountWord(p.Amount)...)
	}
	return out
}

// Reverter always fails.
//
// Calldata: word 0 = target address. It CALLs target with all remaining gas
// and the whole msg.value (ignoring the result), then REVERTs with the ABI
// encoding of Error(RevertReason), so the inner value transfer is undone and
// any transaction calling it directly fails.
func Reverter() []byte { return deployer(reverterRuntime()) }

// RevertData is the exact revert payload of Reverter: Error(string) with
// RevertReason.
func RevertData() []byte {
	out := selector(0x08c379a0)
	out = append(out, word([]byte{0x20})...)
	out = append(out, word(big.NewInt(int64(len(RevertReason))).Bytes())...)
	msg := make([]byte, (len(RevertReason)+31)/32*32)
	copy(msg, RevertReason)
	return append(out, msg...)
}

func reverterRuntime() []byte {
	a := newAsm()
	a.Push(0).Op(vm.DUP1, vm.DUP1, vm.DUP1) // [0,0,0,0]
	a.Op(vm.CALLVALUE)                      // [value,0,0,0,0]
	a.loadAddress(0)                        // [target,value,...]
	a.Op(vm.GAS, vm.CALL, vm.POP)
	data := RevertData()
	a.Mstore(data, 0)
	a.Push(len(data))
	a.Push(0)
	a.Op(vm.REVERT)
	return a.code()
}

// ReverterCall encodes Reverter calldata.
func ReverterCall(target common.Address) []byte { return word(target.Bytes()) }

// Catcher calls a Reverter and swallows its failure.
//
// Calldata: word 0 = reverter address R, word 1 = address X, word 2 =
// address Y. It CALLs R (all remaining gas) with value msg.value/2 and
// calldata = word 1 (so R tries to pay X, then reverts: no value moves), and
// ignores that failure. It then CALLs Y (all remaining gas, no input) with
// its whole balance (SELFBALANCE, i.e. msg.value plus whatever it held). If
// that second call fails the transaction reverts with Y's revert data.
func Catcher() []byte { return deployer(catcherRuntime()) }

func catcherRuntime() []byte {
	a := newAsm()
	// memory[0:32] = X (reverter's calldata)
	a.Push(32).Op(vm.CALLDATALOAD).Push(0).Op(vm.MSTORE)
	// CALL(gas, R, value/2, 0, 32, 0, 0)
	a.Push(0).Push(0).Push(32).Push(0) // [0(in),32,0,0]
	a.Push(2).Op(vm.CALLVALUE, vm.DIV) // [value/2, ...]
	a.loadAddress(0)                   // [R, ...]
	a.Op(vm.GAS, vm.CALL, vm.POP)      // failure ignored
	// CALL(gas, Y, selfbalance, 0, 0, 0, 0)
	a.Push(0).Op(vm.DUP1, vm.DUP1, vm.DUP1) // [0,0,0,0]
	a.Op(vm.SELFBALANCE)
	a.loadAddress(64)
	a.Op(vm.GAS, vm.CALL, vm.ISZERO)
	a.jumpIf("fail")
	a.Op(vm.STOP)
	a.label("fail")
	a.bubbleRevert()
	return a.code()
}

// CatcherCall encodes Catcher calldata.
func CatcherCall(reverter, x, y common.Address) []byte {
	out := word(reverter.Bytes())
	out = append(out, word(x.Bytes())...)
	return append(out, word(y.Bytes())...)
}

// Proxy forwards everything to impl with DELEGATECALL.
//
// Calldata: anything; it is passed unchanged to impl, which runs with the
// proxy's storage, balance and msg.value (so a Proxy over a Router pays from
// the proxy's own balance). Success returns impl's return data; failure
// reverts with impl's revert data.
func Proxy(impl common.Address) []byte { return deployer(proxyRuntime(impl)) }

func proxyRuntime(impl common.Address) []byte {
	a := newAsm()
	a.Op(vm.CALLDATASIZE).Push(0).Push(0).Op(vm.CALLDATACOPY) // mem[0:cds] = calldata
	// DELEGATECALL(gas, impl, 0, cds, 0, 0)
	a.Push(0).Push(0).Op(vm.CALLDATASIZE).Push(0)
	a.Push(impl.Bytes())
	a.Op(vm.GAS, vm.DELEGATECALL) // [ok]
	a.Op(vm.RETURNDATASIZE).Push(0).Push(0).Op(vm.RETURNDATACOPY)
	a.jumpIf("ok")
	a.Op(vm.RETURNDATASIZE).Push(0).Op(vm.REVERT)
	a.label("ok")
	a.Op(vm.RETURNDATASIZE).Push(0).Op(vm.RETURN)
	return a.code()
}

// ERC20 is a minimal token. Storage: slot <holder address> = balance.
//
// Constructor: balance[deployer] = supply, emits Transfer(0x0, deployer,
// supply) (3 topics: TransferTopic, from, to; data = 32-byte amount).
//
// Calldata (ABI):
//   - transfer(address to, uint256 amount), selector 0xa9059cbb: reverts
//     (empty data) if balance[caller] < amount; otherwise moves the amount,
//     emits Transfer(caller, to, amount) and returns uint256(1) (true).
//   - balanceOf(address holder), selector 0x70a08231: returns the balance.
//   - anything else reverts.
func ERC20(supply *big.Int) []byte {
	ctor := newAsm()
	ctor.Push(amountWord(supply)).Op(vm.CALLER, vm.SSTORE)
	ctor.Push(amountWord(supply)).Push(0).Op(vm.MSTORE)
	ctor.Op(vm.CALLER).Push(0).Push(TransferTopic.Bytes()).Push(32).Push(0)
	ctor.Op(vm.LOG3)
	return withConstructor(ctor, erc20Runtime())
}

func erc20Runtime() []byte {
	a := newAsm()
	a.loadSelector()
	a.dispatch(SelTransfer, "transfer")
	a.dispatch(SelBalanceOf, "balanceOf")
	a.label("fail")
	a.revertEmpty()

	a.label("balanceOf")
	a.loadAddress(4).Op(vm.SLOAD).Push(0).Op(vm.MSTORE)
	a.Return(0, 32)

	a.label("transfer")
	a.Push(36).Op(vm.CALLDATALOAD)           // [amt]
	a.loadAddress(4)                         // [to, amt]
	a.Op(vm.CALLER, vm.SLOAD)                // [bal, to, amt]
	a.Op(vm.DUP3, vm.DUP2, vm.LT)            // [bal<amt, bal, to, amt]
	a.jumpIf("fail")                         // [bal, to, amt]
	a.Op(vm.DUP3, vm.SWAP1, vm.SUB)          // [bal-amt, to, amt]
	a.Op(vm.CALLER, vm.SSTORE)               // [to, amt]
	a.Op(vm.DUP2, vm.DUP2, vm.SLOAD, vm.ADD) // [bal_to+amt, to, amt]
	a.Op(vm.DUP2, vm.SSTORE)                 // [to, amt]
	a.Op(vm.DUP2).Push(0).Op(vm.MSTORE)      // mem[0:32] = amt
	a.Op(vm.CALLER).Push(TransferTopic.Bytes()).Push(32).Push(0)
	a.Op(vm.LOG3) // [amt]
	a.Push(1).Push(0).Op(vm.MSTORE)
	a.Return(0, 32)
	return a.code()
}

// ERC20Transfer encodes transfer(to, amount).
func ERC20Transfer(to common.Address, amount *big.Int) []byte {
	out := selector(SelTransfer)
	out = append(out, word(to.Bytes())...)
	return append(out, amountWord(amount)...)
}

// ERC20BalanceOf encodes balanceOf(holder).
func ERC20BalanceOf(holder common.Address) []byte {
	return append(selector(SelBalanceOf), word(holder.Bytes())...)
}

// ERC721 is a minimal NFT. Storage: slot <token id> = owner.
//
// Constructor: mints ids 1..n to the deployer in ascending order, each
// emitting Transfer(0x0, deployer, id) with four topics (TransferTopic, from,
// to, id) and empty data.
//
// Calldata (ABI):
//   - transferFrom(address from, address to, uint256 id), selector
//     0x23b872dd: reverts (empty data) unless owner[id] == from and caller ==
//     from (no approvals); sets owner[id] = to, emits the 4-topic Transfer.
//     Returns nothing.
//   - ownerOf(uint256 id), selector 0x6352211e: returns the owner, reverts if
//     the token does not exist.
//   - anything else reverts.
func ERC721(n int) []byte {
	if n < 0 {
		panic("contracts: negative token count")
	}
	ctor := newAsm()
	ctor.Push(1) // [i]
	ctor.label("mint")
	ctor.Op(vm.DUP1).Push(n).Op(vm.LT) // [n < i, i]
	ctor.jumpIf("minted")              // [i]
	ctor.Op(vm.CALLER, vm.DUP2, vm.SSTORE)
	// LOG4(0, 0, topic, 0, caller, i)
	ctor.Op(vm.DUP1, vm.CALLER).Push(0).Push(TransferTopic.Bytes()).Push(0).Push(0)
	ctor.Op(vm.LOG4)
	ctor.Push(1).Op(vm.ADD)
	ctor.jump("mint")
	ctor.label("minted")
	ctor.Op(vm.POP)
	return withConstructor(ctor, erc721Runtime())
}

func erc721Runtime() []byte {
	a := newAsm()
	a.loadSelector()
	a.dispatch(SelTransferFrom, "transferFrom")
	a.dispatch(SelOwnerOf, "ownerOf")
	a.label("fail")
	a.revertEmpty()

	a.label("ownerOf")
	a.Push(4).Op(vm.CALLDATALOAD, vm.SLOAD) // [owner]
	a.Op(vm.DUP1, vm.ISZERO)
	a.jumpIf("fail")
	a.Push(0).Op(vm.MSTORE)
	a.Return(0, 32)

	a.label("transferFrom")
	a.Push(68).Op(vm.CALLDATALOAD) // [id]
	a.loadAddress(36)              // [to, id]
	a.loadAddress(4)               // [from, to, id]
	a.Op(vm.DUP1, vm.DUP4, vm.SLOAD, vm.EQ, vm.ISZERO)
	a.jumpIf("fail")
	a.Op(vm.DUP1, vm.CALLER, vm.EQ, vm.ISZERO)
	a.jumpIf("fail")
	a.Op(vm.DUP2, vm.DUP4, vm.SSTORE) // owner[id] = to
	a.Push(TransferTopic.Bytes()).Push(0).Push(0)
	a.Op(vm.LOG4, vm.STOP)
	return a.code()
}

// ERC721TransferFrom encodes transferFrom(from, to, id).
func ERC721TransferFrom(from, to common.Address, id *big.Int) []byte {
	out := selector(SelTransferFrom)
	out = append(out, word(from.Bytes())...)
	out = append(out, word(to.Bytes())...)
	return append(out, amountWord(id)...)
}

// ERC721OwnerOf encodes ownerOf(id).
func ERC721OwnerOf(id *big.Int) []byte {
	return append(selector(SelOwnerOf), amountWord(id)...)
}

// Sweeper self-destructs on any call.
//
// Calldata: word 0 = beneficiary. SELFDESTRUCT(beneficiary) moves the whole
// balance (including msg.value) to it. Under Cancun (EIP-6780) the code and
// storage are only deleted when it is created in the same transaction, so a
// deployed Sweeper stays callable and sweeps again every time.
func Sweeper() []byte { return deployer(sweeperRuntime()) }

func sweeperRuntime() []byte {
	a := newAsm()
	a.loadAddress(0)
	a.Op(vm.SELFDESTRUCT)
	return a.code()
}

// SweeperCall encodes Sweeper calldata.
func SweeperCall(beneficiary common.Address) []byte { return word(beneficiary.Bytes()) }

// Factory creates a child on every call.
//
// Calldata: ignored. It CREATEs a child whose runtime is a single STOP (a
// Sink), endowed with the whole msg.value, and returns the child address as
// one 32-byte word. Reverts if the creation fails. Children are at
// crypto.CreateAddress(factory, nonce) with nonce starting at 1.
func Factory() []byte { return deployer(factoryRuntime()) }

func factoryRuntime() []byte {
	child := Sink()
	a := newAsm()
	a.Mstore(child, 0)
	a.Push(len(child)).Push(0).Op(vm.CALLVALUE, vm.CREATE) // [addr]
	a.Op(vm.DUP1, vm.ISZERO)
	a.jumpIf("fail")
	a.Push(0).Op(vm.MSTORE)
	a.Return(0, 32)
	a.label("fail")
	a.bubbleRevert()
	return a.code()
}
