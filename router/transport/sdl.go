package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// FetchSDL asks a subgraph for its schema, { _service { sdl } }, and returns
// it. It tries every replica in turn, ejected ones included, until one
// answers with an SDL; the error names the subgraph, and wraps
// ErrUnavailable when no replica answered at all.
func (c *Client) FetchSDL(ctx context.Context, subgraph string) (string, error) {
	p := c.pools[subgraph]
	if p == nil {
		return "", fmt.Errorf("transport: unknown subgraph %q", subgraph)
	}
	h := c.header(nil)
	var last error
	answered := false
	for _, r := range p.replicas {
		resp, o, err := c.attempt(ctx, p, r, c.sdlRequest, h, false, true)
		if err != nil {
			if ctx.Err() != nil {
				return "", &unavailableError{subgraph: p.name, cause: err}
			}
			if o == giveBack {
				answered = true
			}
			last = err
			continue
		}
		sdl, err := parseSDL(resp)
		if err == nil {
			return sdl, nil
		}
		answered = true
		last = fmt.Errorf("subgraph %q: SDL from %s: %w", p.name, resp.Replica, err)
	}
	if !answered {
		return "", &unavailableError{subgraph: p.name, cause: last}
	}
	return "", last
}

// parseSDL takes the SDL out of an answer to { _service { sdl } }.
func parseSDL(resp *Response) (string, error) {
	var out struct {
		Data *struct {
			Service *struct {
				SDL *string `json:"sdl"`
			} `json:"_service"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", fmt.Errorf("status %d: bad JSON: %w", resp.Status, err)
	}
	if len(out.Errors) > 0 {
		return "", fmt.Errorf("status %d: GraphQL error: %s", resp.Status, out.Errors[0].Message)
	}
	if out.Data == nil || out.Data.Service == nil || out.Data.Service.SDL == nil || *out.Data.Service.SDL == "" {
		return "", errors.New("no _service.sdl in the answer")
	}
	return *out.Data.Service.SDL, nil
}
