package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"

	"bookstore/graph/platform/telemetry"
	"bookstore/router/config"
	"bookstore/router/federation/compose"
	"bookstore/router/federation/transport"
	"bookstore/router/server"
)

// composeCommand prints the client-facing SDL of the configured subgraphs,
// schema files or supergraph.
func composeCommand(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	var sg *compose.Supergraph
	var err error
	switch {
	case cfg.SupergraphFile != "":
		sg, err = server.LoadSupergraphFile(cfg.SupergraphFile)
	case len(cfg.SDLFiles) > 0:
		sg, err = composeFiles(cfg)
	default:
		var client *transport.Client
		client, err = transport.New(transport.Config{Subgraphs: cfg.Subgraphs, Timeout: cfg.SubgraphTimeout})
		if err != nil {
			return err
		}
		defer client.Close()
		var subs []compose.Subgraph
		subs, err = server.FetchSDLs(ctx, client)
		if err == nil {
			sg, err = compose.Compose(subs)
		}
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, sg.ClientSDL())
	return err
}

func composeFiles(cfg *config.Config) (*compose.Supergraph, error) {
	var subs []compose.Subgraph
	for _, name := range slices.Sorted(maps.Keys(cfg.SDLFiles)) {
		raw, err := os.ReadFile(cfg.SDLFiles[name])
		if err != nil {
			return nil, fmt.Errorf("subgraph %q: %w", name, err)
		}
		subs = append(subs, compose.Subgraph{Name: name, SDL: string(raw)})
	}
	return compose.Compose(subs)
}

// serve runs the router until ctx ends. Tracing comes from the OTEL_*
// variables read through getenv.
func serve(ctx context.Context, cfg *config.Config, getenv func(string) string, logger *slog.Logger) error {
	if len(cfg.SDLFiles) > 0 {
		return fmt.Errorf("--sdl composes from files for `router compose` only; serving needs --subgraph URLs or --supergraph")
	}
	tracing, err := telemetry.FromEnv(ctx, "router", getenv)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer tracing.Close(logger)
	if tracing.Provider != nil {
		cfg.TracerProvider = tracing.Provider
		logger.Info("tracing on: exporting spans over OTLP/HTTP")
	}
	r, err := server.New(cfg.Config, logger)
	if err != nil {
		return err
	}
	defer r.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	return r.Serve(ctx, ln)
}
