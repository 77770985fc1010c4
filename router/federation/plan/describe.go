package plan

import (
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// Node is one node of a plan as a client sees it in
// extensions.queryPlan. Kind is "Fetch", "Sequence" or "Parallel".
type Node struct {
	Kind string `json:"kind"`
	// ID numbers a Fetch within the plan.
	ID *int `json:"id,omitempty"`
	// A Fetch's subgraph, its operation's text and the client variables
	// it sends.
	ServiceName    string   `json:"serviceName,omitempty"`
	Operation      string   `json:"operation,omitempty"`
	VariableUsages []string `json:"variableUsages,omitempty"`
	// Entities, for an _entities fetch: where in the response so far its
	// representations come from.
	Entities []EntityPath `json:"entities,omitempty"`
	// DependsOn lists, for a Fetch that waits for more than the node it
	// is nested under, the IDs of every fetch it waits for.
	DependsOn []int `json:"dependsOn,omitempty"`
	// Nodes, for a Sequence (run one after another) or a Parallel.
	Nodes []*Node `json:"nodes,omitempty"`
}

// EntityPath is the objects an _entities fetch completes: those at Path
// (response keys from the root, lists walked through) whose __typename is
// one of Types.
type EntityPath struct {
	Path  []string `json:"path"`
	Types []string `json:"types"`
}

// Description is a whole plan as extensions.queryPlan shows it.
type Description struct {
	Kind string `json:"kind"` // always "QueryPlan"
	// Node is nil when no subgraph is asked (introspection alone).
	Node *Node `json:"node"`
}

// Describe returns the plan's fetch graph as a tree: a query's root
// fetches run in Parallel, a mutation's in Sequence, and a fetch with
// dependents is a Sequence of the fetch and then its dependents, in
// Parallel. A fetch that waits for several fetches is shown under the last
// of them, with all of them in dependsOn.
func (p *Plan) Describe() *Description {
	kind := "Parallel"
	if p.Operation == ast.Mutation {
		kind = "Sequence"
	}
	roots, under := p.tree()
	return &Description{Kind: "QueryPlan", Node: group(kind, roots, under)}
}

// tree arranges the fetches as a tree: the fetches that wait for none are
// its roots, and a fetch that waits is under the last (by ID) of those it
// waits for. A mutation's root fetches are roots: they wait for one
// another only to keep the order of the mutation's fields.
func (p *Plan) tree() (roots []*Fetch, under map[*Fetch][]*Fetch) {
	under = map[*Fetch][]*Fetch{}
	for _, f := range p.Fetches {
		var parent *Fetch
		for _, d := range f.Deps {
			if p.Operation == ast.Mutation && f.Mutation {
				continue // the order of mutation fields
			}
			if parent == nil || d.ID > parent.ID {
				parent = d
			}
		}
		if parent == nil {
			roots = append(roots, f)
		} else {
			under[parent] = append(under[parent], f)
		}
	}
	return roots, under
}

func group(kind string, fetches []*Fetch, under map[*Fetch][]*Fetch) *Node {
	switch len(fetches) {
	case 0:
		return nil
	case 1:
		return describeFetch(fetches[0], under)
	}
	n := &Node{Kind: kind}
	for _, f := range fetches {
		n.Nodes = append(n.Nodes, describeFetch(f, under))
	}
	return n
}

func describeFetch(f *Fetch, under map[*Fetch][]*Fetch) *Node {
	id := f.ID
	n := &Node{Kind: "Fetch", ID: &id, ServiceName: f.Graph, Operation: f.Query, VariableUsages: f.Variables}
	if len(f.Deps) > 1 && !f.Mutation {
		for _, d := range f.Deps {
			n.DependsOn = append(n.DependsOn, d.ID)
		}
		slices.Sort(n.DependsOn)
	}
	for _, e := range f.Entities {
		types := make([]string, 0, len(e.Types))
		for t := range e.Types {
			types = append(types, t)
		}
		slices.Sort(types)
		n.Entities = append(n.Entities, EntityPath{Path: slices.Clone(e.Path), Types: types})
	}
	if len(under[f]) == 0 {
		return n
	}
	return &Node{Kind: "Sequence", Nodes: []*Node{n, group("Parallel", under[f], under)}}
}
