// Command router is the bookstore's GraphQL federation router. It composes
// Federation v2 subgraphs (or reads a composed supergraph) and serves the
// supergraph at /graphql, the REST shims at /books and /orders, and a
// GraphQL IDE for browsers.
//
//	router [flags]            serve
//	router compose [flags]    print the client-facing SDL and exit
//
// `router --help` lists every setting, with its flag, its environment
// variable and its default (package config); README.md explains them.
package main

import (
	"context"
	"io"
	"log/slog"

	"bookstore/graph/platform/cli"
	"bookstore/router/config"
)

func main() {
	cli.Main("router", run, config.ErrUsage)
}

// run is main without the process: args, environment and output are
// passed in, so tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "compose" {
		cfg, err := config.Parse(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		return composeCommand(ctx, cfg, stdout)
	}
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	return serve(ctx, cfg, getenv, logger)
}
