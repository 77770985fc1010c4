package child

import (
	"fmt"
	"net"
	"strconv"
)

// HostPort returns "127.0.0.1:port", where children listen.
func HostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// FreePort asks the kernel for a free port on 127.0.0.1. Another process
// could take it before a child binds it; the child then fails to start,
// and WaitReady says so.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct free ports on 127.0.0.1, as FreePort does.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		// Held until every port is found, so that none comes twice.
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// PortFree reports whether port on 127.0.0.1 can be listened on now.
func PortFree(port int) bool {
	ln, err := net.Listen("tcp", HostPort(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}
