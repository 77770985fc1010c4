package child

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
)

// HostPort returns "127.0.0.1:port", where children listen.
func HostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Children's ports come from below Linux's ephemeral range (32768-60999 by
// default): the kernel gives those to every outgoing connection as its
// source port and to every listen on port 0, so a port found free there
// can be taken by one of them before the child binds it (the chaos suite
// saw a replica fail with "address already in use" under load). Nothing
// takes a port below the range unless asked for it by number.
const (
	portLow  = 20000
	portHigh = 32768
)

// handedOut holds the ports this process has handed out, so that two
// children started at once never get the same one. It is process-wide
// because ports are.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a free port on 127.0.0.1 that this process has not
// handed out before. Another process could still bind it before the child
// does (it would have to ask for it by number); the child then fails to
// start, and WaitReady says so.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// FreePorts returns n distinct free ports on 127.0.0.1, as FreePort does.
func FreePorts(n int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("finding a free port: none free in [%d, %d) after %d tries", portLow, portHigh, tries)
		}
		port := portLow + rand.IntN(portHigh-portLow)
		if handedOut.ports[port] || !PortFree(port) {
			continue
		}
		handedOut.ports[port] = true
		ports = append(ports, port)
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
