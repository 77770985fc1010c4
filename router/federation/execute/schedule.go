package execute

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"bookstore/router/federation/internal/jsonstr"
	"bookstore/router/federation/plan"
)

// A request is one subgraph request: a root fetch, or the entity fetches
// of one subgraph that are ready at the same point, merged into one
// operation. Its aliased _entities fields each serve the Entities of those
// fetches that share one selection, whatever path their objects are at, so
// that an object several paths reach is sent once.
type request struct {
	graph   string
	fetches []*plan.Fetch
	// query is the operation as a JSON string, and vars the client
	// variables it uses.
	query []byte
	vars  []string
	// context holds the contextual arguments of a fetch that has some
	// (such a fetch is sent alone, once per set of values).
	context []*plan.ContextValue
	// fields are the _entities fields; nil for a root fetch.
	fields []entityField
	// field maps each Entities of the fetches to its field's index.
	field map[*plan.Entities]int
}

// entityField is one _entities field of a request.
type entityField struct {
	alias, variable string
	// sources are the Entities it serves.
	sources []*plan.Entities
}

// fieldIndex returns the index of the field whose alias is alias.
func (r *request) fieldIndex(alias string) (int, bool) {
	for i, f := range r.fields {
		if f.alias == alias {
			return i, true
		}
	}
	return 0, false
}

// rootRequest returns the request of a root fetch, kept in the plan's
// memo.
func rootRequest(p *plan.Plan, f *plan.Fetch) *request {
	var kb [32]byte
	key := strconv.AppendInt(append(kb[:0], "root,"...), int64(f.ID), 10)
	if r, ok := p.Memo.Load(key); ok {
		return r.(*request)
	}
	r := &request{graph: f.Graph, fetches: []*plan.Fetch{f}, query: f.QueryJSON, vars: f.Variables}
	return p.Memo.LoadOrStore(key, r).(*request)
}

// entityRequest returns the request of entity fetches of one subgraph
// (sorted by ID): the plan's own query for a fetch whose _entities fields
// all differ, otherwise an operation made for them, and kept in the
// plan's memo.
func entityRequest(p *plan.Plan, fetches []*plan.Fetch) *request {
	var kb [64]byte
	key := append(kb[:0], "entities"...)
	for _, f := range fetches {
		key = strconv.AppendInt(append(key, ','), int64(f.ID), 10)
	}
	if r, ok := p.Memo.Load(key); ok {
		return r.(*request)
	}
	return p.Memo.LoadOrStore(key, buildEntityRequest(p, fetches)).(*request)
}

func buildEntityRequest(p *plan.Plan, fetches []*plan.Fetch) *request {
	f0 := fetches[0]
	r := &request{graph: f0.Graph, fetches: fetches, field: map[*plan.Entities]int{}}
	bySelection := map[string]int{}
	for _, f := range fetches {
		for _, e := range f.Entities {
			i, ok := bySelection[e.Selection]
			if !ok {
				i = len(r.fields)
				bySelection[e.Selection] = i
				r.fields = append(r.fields, entityField{alias: e.Alias, variable: e.Variable})
			}
			r.fields[i].sources = append(r.fields[i].sources, e)
			r.field[e] = i
		}
	}
	if len(fetches) == 1 && (len(r.fields) == len(f0.Entities) || len(f0.Context) > 0) {
		// The plan's own operation. (A fetch with contextual arguments
		// keeps its fields as they are: its batches are made per field.)
		for i, e := range f0.Entities {
			r.field[e] = i
		}
		r.fields = r.fields[:0]
		for _, e := range f0.Entities {
			r.fields = append(r.fields, entityField{alias: e.Alias, variable: e.Variable, sources: []*plan.Entities{e}})
		}
		r.query, r.vars, r.context = f0.QueryJSON, f0.Variables, f0.Context
		return r
	}
	// An operation of its own: the fields renamed _0, _1, ..., each with
	// its representations variable, and every client variable any of the
	// fetches uses.
	for _, f := range fetches {
		for _, v := range f.Variables {
			if !slices.Contains(r.vars, v) {
				r.vars = append(r.vars, v)
			}
		}
	}
	slices.Sort(r.vars)
	var decls []string
	for _, v := range r.vars {
		decls = append(decls, "$"+v+": "+p.VariableTypes[v].String())
	}
	var body strings.Builder
	body.WriteByte('{')
	for i := range r.fields {
		fd := &r.fields[i]
		fd.alias = "_" + strconv.Itoa(i)
		fd.variable = "representations" + strconv.Itoa(i)
		for p.VariableTypes[fd.variable] != nil {
			fd.variable = "_" + fd.variable
		}
		decls = append(decls, "$"+fd.variable+": [_Any!]!")
		if i > 0 {
			body.WriteByte(' ')
		}
		body.WriteString(fd.alias + ": _entities(representations: $" + fd.variable + ") ")
		body.WriteString(fd.sources[0].Selection)
	}
	body.WriteByte('}')
	q := "query"
	if f0.Name != "" {
		q += " " + f0.Name
	}
	q += "(" + strings.Join(decls, ", ") + ") " + body.String()
	r.query = jsonstr.AppendHTMLSafe(nil, q)
	return r
}

// completion is a request's outcome, which the scheduler parses and
// merges: the response, or the error.
type completion struct {
	req  *request
	b    *batch
	resp *FetchResponse
	sr   subgraphResponse
	err  error
}

// scheduler runs a plan's fetches, each as soon as the fetches it depends
// on are done. The entity fetches of one subgraph that become ready at the
// same point (in one completion, or in completions that arrive while the
// scheduler merges) are sent as one request. Subgraph responses are parsed
// and merged here, one at a time, into the execution's one arena.
type scheduler struct {
	x    *execution
	ctx  context.Context
	done chan completion
	// waiting counts the dependencies of each fetch (by ID) not yet done,
	// and batches the requests of a fetch with contextual arguments not
	// yet answered.
	waiting  []int
	batches  []int
	inflight int
}

// run runs a plan's fetches.
func (x *execution) run(ctx context.Context, fetches []*plan.Fetch) {
	if len(fetches) == 0 {
		return
	}
	s := &scheduler{x: x, ctx: ctx, waiting: make([]int, len(fetches)), batches: make([]int, len(fetches)),
		done: make(chan completion, len(fetches))}
	var ready []*plan.Fetch
	for _, f := range fetches {
		s.waiting[f.ID] = len(f.Deps)
		if len(f.Deps) == 0 {
			ready = append(ready, f)
		}
	}
	if len(fetches) == 1 {
		// No other fetch to wait for: the request runs here.
		s.complete(x.exchange(ctx, rootRequest(x.req.Plan, fetches[0]), nil), nil)
		return
	}
	s.launch(ready)
	for s.inflight > 0 {
		c := <-s.done
		s.inflight--
		ready = s.complete(c, ready[:0])
		// What else has arrived is merged before the ready fetches go out,
		// so that they go out together.
		yielded := false
		for {
			select {
			case c := <-s.done:
				s.inflight--
				ready = s.complete(c, ready)
				continue
			default:
			}
			if !yielded && s.inflight > 0 && len(ready) > 0 {
				// Once, let the goroutines of responses that have arrived
				// (runnable, not yet running) say so.
				yielded = true
				runtime.Gosched()
				continue
			}
			break
		}
		s.launch(ready)
	}
}

// launch sends the fetches that are ready: a root fetch alone, a fetch
// with contextual arguments alone, once per set of values, and the other
// entity fetches of one subgraph together. An entity fetch that finds no
// object is done at once, which may make others ready.
func (s *scheduler) launch(ready []*plan.Fetch) {
	x := s.x
	for len(ready) > 0 {
		slices.SortFunc(ready, func(a, b *plan.Fetch) int { return a.ID - b.ID })
		var next []*plan.Fetch
		var graphs []string
		for _, f := range ready {
			switch {
			case f.Entities == nil:
				s.start(rootRequest(x.req.Plan, f), nil)
			case len(f.Context) > 0:
				batches := collectBatches(x.data, f, x.req.Plan.TypenameKey)
				if len(batches) == 0 {
					next = s.finished(f, next)
					continue
				}
				r := entityRequest(x.req.Plan, []*plan.Fetch{f})
				s.batches[f.ID] = len(batches)
				for _, b := range batches {
					s.start(r, b)
				}
			default:
				if !slices.Contains(graphs, f.Graph) {
					graphs = append(graphs, f.Graph)
				}
			}
		}
		for _, g := range graphs {
			var group []*plan.Fetch
			c := &x.arena.coll
			c.reset()
			for _, f := range ready {
				if f.Graph != g || f.Entities == nil || len(f.Context) > 0 {
					continue
				}
				if !c.find(x.data, f, x.req.Plan.TypenameKey) {
					next = s.finished(f, next)
					continue
				}
				group = append(group, f)
			}
			if len(group) == 0 {
				continue
			}
			r := entityRequest(x.req.Plan, group)
			s.start(r, c.batch(r, x.arena))
		}
		ready = next
	}
}

// start sends one request in a goroutine of its own.
func (s *scheduler) start(r *request, b *batch) {
	s.inflight++
	go func() {
		s.done <- s.x.exchange(s.ctx, r, b)
	}()
}

// complete merges a request's outcome and appends the fetches it makes
// ready to ready.
func (s *scheduler) complete(c completion, ready []*plan.Fetch) []*plan.Fetch {
	x := s.x
	x.parse(&c)
	switch {
	case c.err != nil:
		x.fail(c.req.graph, c.err)
	case c.b == nil:
		x.mergeRoot(c.req, &c.sr)
	default:
		x.mergeEntities(c.req, c.b, &c.sr)
	}
	for _, f := range c.req.fetches {
		if len(f.Context) > 0 && f.Entities != nil {
			if s.batches[f.ID]--; s.batches[f.ID] > 0 {
				continue
			}
		}
		ready = s.finished(f, ready)
	}
	return ready
}

// finished records that f is done and appends the fetches that it makes
// ready to ready.
func (s *scheduler) finished(f *plan.Fetch, ready []*plan.Fetch) []*plan.Fetch {
	for _, d := range f.Dependents {
		if s.waiting[d.ID]--; s.waiting[d.ID] == 0 {
			ready = append(ready, d)
		}
	}
	return ready
}
