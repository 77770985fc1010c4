package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"bookstore/graph/platform/httpkit"
	"bookstore/router/federation/benchgraph"
)

// With BOOKSTORE_BENCH_CHILD=proxy the bench's own binary, re-run by the
// bench, is the bare reverse proxy of comparison (A); with
// BOOKSTORE_BENCH_CHILD=benchgraph it serves the subgraphs of (E) and (F)
// (package benchgraph). Each is a process of its own, so that its CPU time
// is its own.
const (
	childEnv       = "BOOKSTORE_BENCH_CHILD"
	proxyMode      = "proxy"
	benchgraphMode = "benchgraph"
)

// runChild runs a child mode and returns the exit status.
func runChild(mode string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := fmt.Errorf("unknown child mode %q", mode)
	switch mode {
	case proxyMode:
		err = reverseProxy(ctx, args)
	case benchgraphMode:
		err = serveBenchgraph(ctx, args)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", mode, err)
		return 1
	}
	return 0
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

// serveBenchgraph serves every subgraph of package benchgraph on one port,
// at /accounts, /inventory, /products, /reviews and /big.
func serveBenchgraph(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchgraph", flag.ContinueOnError)
	listen := fs.String("listen", "", "HOST:PORT")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: benchgraph.Handler(), ReadHeaderTimeout: 10 * time.Second}
	return httpkit.Serve(ctx, srv, ln, httpkit.ServeOptions{ShutdownTimeout: 5 * time.Second})
}
