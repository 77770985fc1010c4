package execute_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"bookstore/router/federation/execute"
	"bookstore/router/federation/execute/executetest"
)

// BenchmarkExecute runs the plans of executetest.Workloads over fake
// subgraphs in process. The fakes answer through executetest.Memo, which
// computes each distinct answer once and then replays it, so what is
// measured is the executor: encoding the requests, parsing the answers,
// merging entities, shaping the response. requests/op is the subgraph
// requests one execution makes; MB/s is of the response's data.
//
//	go test ./router/federation/execute -run '^$' -bench Execute -benchmem
//
// BENCH_SHOW=1 logs each workload's request count and the start of its
// data.
func BenchmarkExecute(b *testing.B) {
	for _, w := range executetest.Workloads(b) {
		b.Run(w.Name, func(b *testing.B) { benchExecute(b, w) })
	}
}

func benchExecute(b *testing.B, w executetest.Workload) {
	memo := w.Memo(b)
	p, vars := w.Plan(b)
	ex := &execute.Executor{Fetcher: memo, Schema: w.Supergraph.Schema}
	req := &execute.Request{Plan: p, Variables: vars}
	ctx := context.Background()
	// Warm the memo up: how requests are grouped depends on the order
	// fetches finish in.
	var res *execute.Result
	for range 20 {
		first := memo.Calls() == 0
		res = ex.Execute(ctx, req)
		if len(res.Errors) > 0 {
			b.Fatalf("errors: %v", res.Errors)
		}
		if !json.Valid(res.Data) {
			b.Fatalf("invalid data: %.200s", res.Data)
		}
		if first && os.Getenv("BENCH_SHOW") != "" {
			b.Logf("%d requests, %d bytes of data: %.300s", memo.Calls(), len(res.Data), res.Data)
		}
	}
	calls := memo.Calls()
	b.SetBytes(int64(len(res.Data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		// Released, as the server releases a result once written.
		ex.Execute(ctx, req).Release()
	}
	b.StopTimer()
	b.ReportMetric(float64(memo.Calls()-calls)/float64(b.N), "requests/op")
}
