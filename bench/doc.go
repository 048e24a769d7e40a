// Package bench holds goai's comparative benchmarks: the generated client
// against a hand-written baseline client, and the connection pool against
// a single connection. `make bench` runs them with the runtime's own
// benchmarks and writes BENCHMARKS.md.
package bench
