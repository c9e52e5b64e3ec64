package ethereum

// BenchRawBlocks is benchRawBlocks for the external test package.
var BenchRawBlocks = benchRawBlocks
