package stack

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the paths of the services' programs.
type Binaries struct{ Books, Orders, Router string }

// BuildOptions say where the binaries are, and whether to build them.
type BuildOptions struct {
	// Dir holds books-subgraph, orders-subgraph and router.
	Dir string
	// Build runs go build into Dir first; otherwise the binaries must be
	// there already.
	Build bool
	// NoRouter leaves the router out: neither built nor looked for.
	NoRouter bool
	// Root is the module's root, where go build runs; "" is the working
	// directory.
	Root string
	// Go is the go command; "" is $GO, else go.
	Go string
	// Out receives go build's output; nil puts it in the error.
	Out  io.Writer
	Logf Logf
}

// FindBinaries builds the services' binaries into o.Dir (with o.Build) and
// returns their absolute paths, failing when one is missing.
func FindBinaries(ctx context.Context, o BuildOptions) (Binaries, error) {
	names := []string{"books-subgraph", "orders-subgraph"}
	if !o.NoRouter {
		names = append(names, "router")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return Binaries{}, err
	}
	if o.Build {
		if err := build(ctx, o, dir, names); err != nil {
			return Binaries{}, err
		}
	}
	paths := make([]string, 3)
	for i, name := range names {
		paths[i] = filepath.Join(dir, name)
		if _, err := os.Stat(paths[i]); err != nil {
			return Binaries{}, fmt.Errorf("binary %s: %w", paths[i], err)
		}
	}
	return Binaries{Books: paths[0], Orders: paths[1], Router: paths[2]}, nil
}

func build(ctx context.Context, o BuildOptions, dir string, names []string) error {
	goCmd := o.Go
	if goCmd == "" {
		goCmd = os.Getenv("GO")
	}
	if goCmd == "" {
		goCmd = "go"
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, name := range names {
		args = append(args, "./"+name)
	}
	o.Logf.printf("building: %s %s", goCmd, strings.Join(args, " "))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = o.Root
	if o.Out != nil {
		cmd.Stdout, cmd.Stderr = o.Out, o.Out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
		return nil
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}
