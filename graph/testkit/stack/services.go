package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"bookstore/graph/testkit/stack/child"
)

// ServicesOptions shape the services.
type ServicesOptions struct {
	Bin Binaries
	// DB is the database the subgraphs use, through its login roles.
	DB     *Database
	LogDir string
	// Replicas of each subgraph, on ports picked at runtime (default 1),
	// unless BooksPorts and OrdersPorts give fixed ports, one a replica.
	Replicas                int
	BooksPorts, OrdersPorts []int
	// RouterPort is the router's port; 0 picks one.
	RouterPort int
	// NoRouter starts the subgraphs only.
	NoRouter bool
	// Prefix starts every process's name (and its log's): Prefix+"books-1",
	// Prefix+"orders-1", Prefix+"router".
	Prefix string
	// AdminToken is the subgraphs' ADMIN_TOKEN; "" is a random one.
	AdminToken string
	// Env is added to every service's environment, then SubgraphEnv or
	// RouterEnv; later entries win. The subgraphs get ADDR, DATABASE_URL,
	// ADMIN_TOKEN and, for orders, ORDERS_LIST_PUBLIC=true before them.
	Env, SubgraphEnv, RouterEnv []string
	// ReadyTimeout is the time a service gets to answer /readyz (default
	// 60 s); Grace the time one gets to stop after SIGTERM before SIGKILL
	// (default 10 s).
	ReadyTimeout, Grace time.Duration
	Logf                Logf
}

// Services are the running subgraph replicas and routers, and any other
// process started beside them.
type Services struct {
	Books, Orders []*Service
	o             ServicesOptions
	exited        chan *child.Process
	mu            sync.Mutex
	routers       []*Service // the current ones, oldest first
	others        []*Service
	nrouter       int // routers started so far, for their names
}

// StartServices starts the subgraph replicas, waits until each answers
// /readyz, then starts the router (unless o.NoRouter) and waits for it. On
// an error it stops whatever it had started.
func StartServices(ctx context.Context, o ServicesOptions) (_ *Services, err error) {
	if o.DB == nil {
		return nil, errors.New("stack: no database for the services")
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.AdminToken == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		o.AdminToken = hex.EncodeToString(b[:])
	}
	if len(o.BooksPorts) == 0 && len(o.OrdersPorts) == 0 {
		n := max(o.Replicas, 1)
		ports, err := child.FreePorts(2 * n)
		if err != nil {
			return nil, err
		}
		o.BooksPorts, o.OrdersPorts = ports[:n], ports[n:]
	}
	s := &Services{o: o, exited: make(chan *child.Process, 16)}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()
	env := func(db string, extra ...string) []string {
		env := append([]string{"DATABASE_URL=" + db, "ADMIN_TOKEN=" + o.AdminToken}, extra...)
		return append(append(env, o.Env...), o.SubgraphEnv...)
	}
	for i, port := range o.BooksPorts {
		s.Books = append(s.Books, s.service(fmt.Sprintf("books-%d", i+1), o.Bin.Books, port, nil, env(o.DB.BooksURL())))
	}
	for i, port := range o.OrdersPorts {
		s.Orders = append(s.Orders, s.service(fmt.Sprintf("orders-%d", i+1), o.Bin.Orders, port, nil,
			env(o.DB.OrdersURL(), "ORDERS_LIST_PUBLIC=true")))
	}
	for _, sv := range s.Subgraphs() {
		if err := sv.spawn(ctx); err != nil {
			return nil, err
		}
	}
	for _, sv := range s.Subgraphs() {
		if err := sv.waitReady(ctx); err != nil {
			return nil, err
		}
	}
	if !o.NoRouter {
		if _, err := s.startRouter(ctx, o.RouterPort); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// service describes a process of the stack; it is not started.
func (s *Services) service(name, bin string, port int, args, env []string) *Service {
	name = s.o.Prefix + name
	return &Service{Name: name, Port: port, ready: s.o.ReadyTimeout, logf: s.o.Logf, opts: child.Options{
		Name: name, Bin: bin, Args: args, LogDir: s.o.LogDir,
		// Later entries win, so these override this process's own
		// environment (a DATABASE_URL meant for it, say).
		Env: append([]string{"ADDR=" + child.HostPort(port)}, env...),
		OnExit: func(p *child.Process) {
			select {
			case s.exited <- p:
			default: // nobody is listening, or it already heard of another
			}
		},
	}}
}

// Subgraphs returns every subgraph replica, books first.
func (s *Services) Subgraphs() []*Service {
	return append(append([]*Service{}, s.Books...), s.Orders...)
}

// Router returns the oldest running router, nil with NoRouter.
func (s *Services) Router() *Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.routers) == 0 {
		return nil
	}
	return s.routers[0]
}

// Routers returns the running routers, oldest first.
func (s *Services) Routers() []*Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Service{}, s.routers...)
}

// AddRouter starts one more router in front of the subgraphs, on a port
// picked at runtime, and waits until it is ready.
func (s *Services) AddRouter(ctx context.Context) (*Service, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	return s.startRouter(ctx, port)
}

func (s *Services) startRouter(ctx context.Context, port int) (*Service, error) {
	if port == 0 {
		var err error
		if port, err = child.FreePort(); err != nil {
			return nil, err
		}
	}
	urls := func(replicas []*Service) string {
		var u []string
		for _, sv := range replicas {
			u = append(u, sv.URL()+"/query")
		}
		return strings.Join(u, ",")
	}
	args := []string{"--listen", child.HostPort(port), "--subgraph", "books=" + urls(s.Books), "--subgraph", "orders=" + urls(s.Orders)}
	s.mu.Lock()
	s.nrouter++
	name := "router"
	if s.nrouter > 1 {
		name = fmt.Sprintf("router-%d", s.nrouter)
	}
	r := s.service(name, s.o.Bin.Router, port, args, append(append([]string{}, s.o.Env...), s.o.RouterEnv...))
	s.routers = append(s.routers, r)
	s.mu.Unlock()
	if err := r.Start(ctx); err != nil {
		_ = s.StopRouter(r, s.o.Grace)
		return nil, err
	}
	return r, nil
}

// StopRouter stops router r (SIGTERM, then SIGKILL after grace) and
// forgets it.
func (s *Services) StopRouter(r *Service, grace time.Duration) error {
	err := r.Stop(grace)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.routers {
		if x == r {
			s.routers = append(s.routers[:i:i], s.routers[i+1:]...)
			break
		}
	}
	return err
}

// AddProcess starts another program beside the stack, stopped with the
// routers: args returns its arguments for its address (127.0.0.1 and a
// port picked at runtime, also in ADDR). It waits until /readyz answers.
func (s *Services) AddProcess(ctx context.Context, name, bin string, args func(addr string) []string, env []string) (*Service, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	sv := s.service(name, bin, port, args(child.HostPort(port)), env)
	if err := sv.Start(ctx); err != nil {
		_ = sv.Stop(s.o.Grace)
		return nil, err
	}
	s.mu.Lock()
	s.others = append(s.others, sv)
	s.mu.Unlock()
	return sv, nil
}

// Exited delivers each process that exited on its own rather than by
// Stop; it holds 16, and drops more while nobody reads.
func (s *Services) Exited() <-chan *child.Process { return s.exited }

// Check returns the death report of every service that is not running.
func (s *Services) Check() error {
	var errs []error
	for _, sv := range s.all() {
		if p := sv.Process(); p != nil && !p.Running() {
			errs = append(errs, p.DeathReport())
		}
	}
	return errors.Join(errs...)
}

func (s *Services) all() []*Service {
	s.mu.Lock()
	front := append(append([]*Service{}, s.others...), s.routers...)
	s.mu.Unlock()
	return append(front, s.Subgraphs()...)
}

// Stop stops every process by its PID, the routers (and AddProcess's)
// first, then the subgraphs, each group at once: SIGTERM, then SIGKILL
// after Grace. It returns an error for each one that had to be killed.
func (s *Services) Stop() error {
	s.mu.Lock()
	front := append(append([]*Service{}, s.others...), s.routers...)
	s.mu.Unlock()
	var errs []error
	for _, group := range [][]*Service{front, s.Subgraphs()} {
		var wg sync.WaitGroup
		groupErrs := make([]error, len(group))
		running := make([]bool, len(group))
		for i, sv := range group {
			if p := sv.Process(); p != nil {
				running[i] = p.Running()
				wg.Go(func() { groupErrs[i] = sv.Stop(s.o.Grace) })
			}
		}
		wg.Wait()
		for i, sv := range group {
			if groupErrs[i] != nil {
				errs = append(errs, groupErrs[i])
			} else if running[i] {
				s.o.Logf.printf("stopped %s (pid %d)", sv.Name, sv.PID())
			}
		}
	}
	return errors.Join(errs...)
}

// Service is one process of the stack, on a port of 127.0.0.1 that it
// keeps when it is started again.
type Service struct {
	Name  string
	Port  int
	opts  child.Options
	ready time.Duration
	logf  Logf
	mu    sync.Mutex
	proc  *child.Process // the latest
}

// URL returns the service's base URL, http://127.0.0.1:PORT.
func (sv *Service) URL() string { return "http://" + child.HostPort(sv.Port) }

// Process returns the latest process; nil before the first start.
func (sv *Service) Process() *child.Process {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.proc
}

// PID returns the latest process's id.
func (sv *Service) PID() int {
	if p := sv.Process(); p != nil {
		return p.PID()
	}
	return 0
}

// Start starts the service (again, once its process has exited) and waits
// until it answers /readyz.
func (sv *Service) Start(ctx context.Context) error {
	if err := sv.spawn(ctx); err != nil {
		return err
	}
	return sv.waitReady(ctx)
}

func (sv *Service) spawn(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := child.Start(sv.opts)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	sv.proc = p
	sv.mu.Unlock()
	sv.logf.printf("started %s (pid %d) on %s, log %s", sv.Name, p.PID(), child.HostPort(sv.Port), p.LogPath())
	return nil
}

func (sv *Service) waitReady(ctx context.Context) error {
	return sv.Process().WaitReady(ctx, sv.URL()+"/readyz", sv.ready)
}

// Signal sends sig to the running process.
func (sv *Service) Signal(sig syscall.Signal) error { return sv.Process().Signal(sig) }

// Kill sends SIGKILL and waits for the process to be reaped.
func (sv *Service) Kill() error {
	p := sv.Process()
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.Done()
	return nil
}

// Stop stops the process: SIGTERM (after SIGCONT, for a stopped one),
// then SIGKILL after grace, which is an error.
func (sv *Service) Stop(grace time.Duration) error {
	p := sv.Process()
	if p == nil {
		return nil
	}
	if p.Running() {
		_ = p.Signal(syscall.SIGCONT) // a stopped process ignores SIGTERM until it is continued
	}
	return p.Stop(grace)
}
