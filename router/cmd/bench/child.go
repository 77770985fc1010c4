package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"bookstore/graph/platform/httpkit"
	routerconfig "bookstore/router/config"
	"bookstore/router/server"
)

// childEnv selects one of the bench's own child modes: the bench re-runs
// its binary with BOOKSTORE_BENCH_CHILD set to start a helper process.
const childEnv = "BOOKSTORE_BENCH_CHILD"

// runChild runs a child mode and returns the exit status.
func runChild(mode string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch mode {
	case "router":
		err = profiledRouter(ctx, args)
	case "proxy":
		err = reverseProxy(ctx, args)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", mode, err)
		return 1
	}
	return 0
}

// cpuProfileEnv names the file the "router" child writes its CPU profile
// to.
const cpuProfileEnv = "BOOKSTORE_BENCH_CPUPROFILE"

// profiledRouter serves the router in this process, as the router binary
// does (package server, configured by package config from the same flags
// and variables), under a CPU profile written when it stops. The router
// binary has no pprof endpoint; this is the same code with one.
func profiledRouter(ctx context.Context, args []string) error {
	cfg, err := routerconfig.Parse(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	f, err := os.Create(os.Getenv(cpuProfileEnv))
	if err != nil {
		return err
	}
	defer f.Close()
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: cfg.LogLevel}))
	r, err := server.New(cfg.Config, logger)
	if err != nil {
		return err
	}
	defer r.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = r.Serve(ctx, ln)
	pprof.StopCPUProfile()
	return err
}

// reverseProxy is the smallest possible Go hop in front of a subgraph: a
// net/http/httputil reverse proxy with keep-alive. It is the floor any Go
// router's overhead can be compared with.
func reverseProxy(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	listen := fs.String("listen", "", "HOST:PORT")
	to := fs.String("to", "", "upstream base URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	up, err := url.Parse(*to)
	if err != nil {
		return err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(up) },
		Transport: &http.Transport{
			MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 2 * time.Minute,
		},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	return httpkit.Serve(ctx, srv, ln, httpkit.ServeOptions{ShutdownTimeout: 5 * time.Second})
}
