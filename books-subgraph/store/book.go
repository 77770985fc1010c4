package store

import "time"

// Book is one row of the catalogue.
type Book struct {
	ID            string
	ISBN          string
	Title         string
	Author        string
	Description   string
	PublishedYear *int
	PriceCents    int
	Currency      string
	Stock         int
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// InStock reports whether at least one unit can be ordered now.
func (b *Book) InStock() bool { return b.Stock > 0 }
