package transport

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// FetchSDL asks a subgraph for its schema, { _service { sdl } }, and returns
// it. It tries every replica in turn, ejected ones included, until one
// answers with an SDL; the error names the subgraph, and wraps
// ErrUnavailable when no replica answered at all.
//
// The request is the operation RouterServiceSDL, with a traceparent whose
// sampled flag is off: a subgraph that traces (with a parent-based
// sampler, the default) records no trace for the router's polls.
func (c *Client) FetchSDL(ctx context.Context, subgraph string) (string, error) {
	p := c.pools[subgraph]
	if p == nil {
		return "", fmt.Errorf("transport: unknown subgraph %q", subgraph)
	}
	h := c.header(http.Header{"Traceparent": {unsampledTraceparent()}})
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

// unsampledTraceparent returns a W3C traceparent of a new trace that is
// not sampled.
func unsampledTraceparent() string {
	var ids [24]byte
	binary.LittleEndian.PutUint64(ids[0:], rand.Uint64()|1) // never all zero
	binary.LittleEndian.PutUint64(ids[8:], rand.Uint64())
	binary.LittleEndian.PutUint64(ids[16:], rand.Uint64()|1)
	return "00-" + hex.EncodeToString(ids[:16]) + "-" + hex.EncodeToString(ids[16:]) + "-00"
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
