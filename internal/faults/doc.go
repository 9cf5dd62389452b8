// Package faults holds the hub's fault tests: they stop and restart the test
// cluster under load, so they run in a test binary of their own, where no
// other test shares the cluster.
package faults
