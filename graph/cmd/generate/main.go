// Command generate is what make generate runs in each subgraph's
// directory: gqlgen's generate, with the gqlgen.yml found there and the
// gqlgen version the module's tool directive pins, then one change to the
// executable schema it wrote: lists of objects are marshalled in order, in
// the request's goroutine, by gqlrun.MarshalSlice, instead of one
// goroutine per element by graphql.MarshalSliceConcurrently (see package
// gqlrun for why). gqlgen has no setting for that.
//
// It fails, rather than generating something else, when gqlgen's output no
// longer has the call it replaces.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"log"
	"os"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen/config"
)

const (
	concurrent = "graphql.MarshalSliceConcurrently("
	inOrder    = "gqlrun.MarshalSlice("
	gqlrunPath = `"bookstore/graph/gqlrun"`
)

func main() {
	log.SetOutput(io.Discard) // as gqlgen's command does without -verbose
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("no gqlgen.yml here or above: run in a subgraph's directory")
	}
	if err != nil {
		return err
	}
	if err := api.Generate(cfg); err != nil {
		return err
	}
	name := cfg.Exec.Filename
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := marshalInOrder(src)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return os.WriteFile(name, out, 0o644)
}

// marshalInOrder replaces every graphql.MarshalSliceConcurrently call of a
// generated file with gqlrun.MarshalSlice, which takes the same arguments,
// and imports gqlrun.
func marshalInOrder(src []byte) ([]byte, error) {
	if bytes.Count(src, []byte(concurrent)) == 0 {
		return nil, fmt.Errorf("no %s call: gqlgen's output changed; see graph/cmd/generate", concurrent[:len(concurrent)-1])
	}
	if bytes.Count(src, []byte("\nimport (\n")) != 1 {
		return nil, errors.New("want exactly one import block")
	}
	src = bytes.ReplaceAll(src, []byte(concurrent), []byte(inOrder))
	src = bytes.Replace(src, []byte("\nimport (\n"), []byte("\nimport (\n\t"+gqlrunPath+"\n"), 1)
	out, err := format.Source(src)
	if err != nil {
		return nil, fmt.Errorf("formatting: %w", err)
	}
	return out, nil
}
