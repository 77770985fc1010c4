package store

import "time"

// Book is one row of the catalogue: its id, the fields a NewBook gives
// (as updated since), and those the catalogue sets.
type Book struct {
	ID string
	NewBook
	Currency  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// InStock reports whether at least one unit can be ordered now.
func (b *Book) InStock() bool { return b.Stock > 0 }
