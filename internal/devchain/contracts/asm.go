package contracts

import (
	"fmt"

	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/core/vm/program"
)

// asm wraps program.Program with named jump labels. Jumps always use PUSH2,
// so patching a label never changes the size of the code.
type asm struct {
	*program.Program
	labels map[string]int
	fixups map[int]string // position of the 2-byte PUSH2 operand -> label
}

func newAsm() *asm {
	return &asm{Program: program.New(), labels: map[string]int{}, fixups: map[int]string{}}
}

// pushLabel pushes the (future) position of label as a PUSH2.
func (a *asm) pushLabel(name string) *asm {
	a.Op(vm.PUSH2)
	a.fixups[a.Size()] = name
	a.Append([]byte{0, 0})
	return a
}

// jump emits an unconditional jump to label.
func (a *asm) jump(name string) *asm {
	a.pushLabel(name)
	a.Op(vm.JUMP)
	return a
}

// jumpIf emits JUMPI to label, consuming the condition on top of the stack.
func (a *asm) jumpIf(name string) *asm {
	a.pushLabel(name)
	a.Op(vm.JUMPI)
	return a
}

// label marks the current position as a JUMPDEST called name.
func (a *asm) label(name string) *asm {
	if _, dup := a.labels[name]; dup {
		panic("contracts: duplicate label " + name)
	}
	a.labels[name] = a.Size()
	a.Op(vm.JUMPDEST)
	return a
}

// code resolves every label and returns the bytecode.
func (a *asm) code() []byte {
	code := append([]byte(nil), a.Bytes()...)
	for pos, name := range a.fixups {
		dst, ok := a.labels[name]
		if !ok {
			panic(fmt.Sprintf("contracts: undefined label %q", name))
		}
		code[pos] = byte(dst >> 8)
		code[pos+1] = byte(dst)
	}
	return code
}

// deployer returns init code that simply returns runtime.
func deployer(runtime []byte) []byte {
	return program.New().ReturnViaCodeCopy(runtime).Bytes()
}

// withConstructor appends to ctor (whose labels must already be final) the
// code copying runtime out and returning it.
func withConstructor(ctor *asm, runtime []byte) []byte {
	p := program.New()
	p.SetBytes(ctor.code())
	p.ReturnViaCodeCopy(runtime)
	return p.Bytes()
}

// addressMask keeps the low 20 bytes of a word.
var addressMask = []byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// loadAddress pushes calldata word at offset, masked to an address.
func (a *asm) loadAddress(offset int) *asm {
	a.Push(offset)
	a.Op(vm.CALLDATALOAD)
	a.Push(addressMask)
	a.Op(vm.AND)
	return a
}

// bubbleRevert emits code reverting with the last call's return data.
func (a *asm) bubbleRevert() *asm {
	a.Op(vm.RETURNDATASIZE)
	a.Push(0)
	a.Push(0)
	a.Op(vm.RETURNDATACOPY) // memory[0:rds] = returndata
	a.Op(vm.RETURNDATASIZE)
	a.Push(0)
	a.Op(vm.REVERT)
	return a
}

// dispatch emits "if selector == sel goto name"; expects the selector on top
// of the stack and leaves it there.
func (a *asm) dispatch(sel uint32, name string) *asm {
	a.Op(vm.DUP1)
	a.Push(sel)
	a.Op(vm.EQ)
	a.jumpIf(name)
	return a
}

// loadSelector pushes the 4-byte function selector.
func (a *asm) loadSelector() *asm {
	a.Push(0)
	a.Op(vm.CALLDATALOAD)
	a.Push(0xe0)
	a.Op(vm.SHR)
	return a
}

// revertEmpty emits REVERT(0, 0).
func (a *asm) revertEmpty() *asm {
	a.Push(0)
	a.Push(0)
	a.Op(vm.REVERT)
	return a
}
