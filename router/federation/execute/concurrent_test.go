package execute_test

import (
	"context"
	"sync"
	"testing"

	"bookstore/router/federation/execute"
	"bookstore/router/federation/execute/executetest"
)

// TestConcurrentExecutions runs one plan from many goroutines at once, as
// the gateway does with a cached plan: every answer is the same, though
// the executions share the plan's memo and the pools of arenas and
// buffers (each released buffer is reused by a later execution).
func TestConcurrentExecutions(t *testing.T) {
	for _, w := range executetest.Workloads(t) {
		if w.Name == "big-passthrough" || w.Name == "big-shaped" {
			continue
		}
		t.Run(w.Name, func(t *testing.T) {
			p, vars := w.Plan(t)
			ex := &execute.Executor{Fetcher: w.Memo(t), Schema: w.Supergraph.Schema}
			req := &execute.Request{Plan: p, Variables: vars}
			first := ex.Execute(context.Background(), req)
			want := string(first.Data)
			first.Release()
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 20 {
						res := ex.Execute(context.Background(), req)
						if got := string(res.Data); got != want || len(res.Errors) > 0 {
							t.Errorf("an execution differs: %d bytes, %v", len(got), res.Errors)
						}
						res.Release()
					}
				}()
			}
			wg.Wait()
		})
	}
}
