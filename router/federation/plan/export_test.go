package plan

// Tree exposes tree to the external tests.
func (p *Plan) Tree() (roots []*Fetch, under map[*Fetch][]*Fetch) { return p.tree() }
