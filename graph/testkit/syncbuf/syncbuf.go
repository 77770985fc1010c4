// Package syncbuf is a bytes.Buffer safe for concurrent use, for the output
// of the services and processes tests run: one or more writers, and
// readers at any time.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects what is written to it; safe for concurrent use. The zero
// value is empty and ready.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// WriteString appends s.
func (b *Buffer) WriteString(s string) {
	_, _ = b.Write([]byte(s))
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Len returns how many bytes were written so far.
func (b *Buffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}
