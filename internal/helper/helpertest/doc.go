// Package helpertest runs the privileged helper in network namespaces for
// tests (Linux, root). See helpertest_linux.go.
package helpertest
