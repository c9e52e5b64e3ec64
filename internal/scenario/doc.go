// Package scenario plays scripted laundering cases on an in-process
// Ethereum node (internal/devchain) and records their ground truth: the
// seeds, every address the launderer controls, the exchange deposit
// addresses used, the labels an investigator would hold, and exactly how
// much reached each exchange, mixer and bridge. The demo plays one; the
// tracer's tests check their results against the ground truth.
package scenario
