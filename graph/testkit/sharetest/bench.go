package sharetest

import (
	"sync/atomic"
	"testing"
)

// Bench measures what sharing saves identical operations in flight and
// what it costs operations that never share (each one distinct), against
// the same with sharing off.
type Bench struct {
	// Setup returns the operation to measure, with sharing off or on. The
	// operation run with n == 0 is identical to every other run with 0;
	// each n > 0 is new, and its operation distinct from every other.
	Setup func(b *testing.B, off bool) (op func(n int64) error)
	// Requests, when set, counts what reaches the subgraph; it is reported
	// as requests/op.
	Requests *atomic.Int64
}

// benchCases are the sub-benchmarks Run runs.
var benchCases = []struct {
	name          string
	off, distinct bool
}{
	{"identical", false, false},
	{"identical-off", true, false},
	{"distinct", false, true},
	{"distinct-off", true, true},
}

// Run runs the operation in parallel, in a sub-benchmark for each of
// identical and distinct operations, with sharing on and off.
func (bench Bench) Run(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			op := bench.Setup(b, bc.off)
			var seq atomic.Int64
			if bench.Requests != nil {
				bench.Requests.Store(0)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					var n int64
					if bc.distinct {
						n = seq.Add(1)
					}
					if err := op(n); err != nil {
						b.Error(err)
						return
					}
				}
			})
			if bench.Requests != nil {
				b.ReportMetric(float64(bench.Requests.Load())/float64(b.N), "requests/op")
			}
		})
	}
}
