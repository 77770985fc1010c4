package child

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WaitReady polls url with GET until it answers 200. It fails with
// DeathReport when the process exits first, with the end of its log when
// timeout passes first, and with ctx's error when ctx ends first.
func (p *Process) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		if res, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				// Another process on the port answers too: only a child
				// still running is ready.
				select {
				case <-p.done:
					return p.DeathReport()
				default:
					return nil
				}
			}
		}
		select {
		case <-p.done:
			return p.DeathReport()
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%s did not answer %s within %s; the end of %s:\n%s", p.name, url, timeout, p.logPath, p.Tail(15))
			}
			return ctx.Err()
		case <-tick.C:
		}
	}
}
