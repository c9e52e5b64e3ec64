// Package chains holds the chain-neutral model that every other package speaks:
// blocks, transactions and transfers, with amounts as exact integers in base
// units (wei, satoshi, token base units). Chain adapters live in sub-packages
// (chains/ethereum, chains/bitcoin) and translate a node's data into this model.
package chains
