package graph

import (
	"bookstore/books-subgraph/graph/model"
	"bookstore/books-subgraph/store"
	"bookstore/graph/apierror"
	"bookstore/graph/connection"

	"github.com/99designs/gqlgen/graphql"
)

// toModel maps a catalogue row to its GraphQL type.
func toModel(b *store.Book) *model.Book {
	return &model.Book{
		ID:            b.ID,
		Isbn:          b.ISBN,
		Title:         b.Title,
		Author:        b.Author,
		Description:   b.Description,
		PublishedYear: b.PublishedYear,
		PriceCents:    b.PriceCents,
		Currency:      b.Currency,
		Stock:         b.Stock,
		InStock:       b.InStock(),
		CreatedAt:     b.CreatedAt,
		UpdatedAt:     b.UpdatedAt,
	}
}

func notFound(id string) error {
	return apierror.New(apierror.NotFound, "no book has id "+apierror.Quote(id), map[string]any{"id": id})
}

// listParams validates the arguments of Query.books.
func listParams(first *int, after *string, filter *model.BookFilter, orderBy *model.BookOrder) (store.ListParams, error) {
	var p store.ListParams
	var err error
	if p.First, p.After, err = connection.Args(first, after); err != nil {
		return p, err
	}
	p.Order = store.TitleAsc
	if orderBy != nil {
		p.Order = store.Order(*orderBy)
	}
	if filter != nil {
		if filter.Search != nil {
			if err := noNUL("filter.search", *filter.Search); err != nil {
				return p, err
			}
		}
		if filter.Author != nil {
			if err := noNUL("filter.author", *filter.Author); err != nil {
				return p, err
			}
		}
		p.Filter = store.Filter{Search: filter.Search, Author: filter.Author, InStock: filter.InStock}
	}
	return p, nil
}

func (r *Resolver) validYear(field string, y *int) error {
	if y == nil {
		return nil
	}
	if maxYear := r.Now().Year() + 1; *y < minYear || *y > maxYear {
		return apierror.Input(field, "must be between %d and %d, got %d", minYear, maxYear, *y)
	}
	return nil
}

func validPrice(field string, p int) error {
	if p < 0 || p > maxPriceCents {
		return apierror.Input(field, "must be between 0 and %d, got %d", maxPriceCents, p)
	}
	return nil
}

// validateNewBook checks createBook's input against the contract.
func (r *Resolver) validateNewBook(in model.CreateBookInput) (store.NewBook, error) {
	nb := store.NewBook{ISBN: in.Isbn, PublishedYear: in.PublishedYear, PriceCents: in.PriceCents}
	var err error
	if !validISBN13(in.Isbn) {
		return nb, apierror.Input("input.isbn", "must be an ISBN-13: 13 digits, no hyphens, starting 978 or 979, with a correct check digit")
	}
	if nb.Title, err = text("input.title", in.Title, 1, maxTitle, false); err != nil {
		return nb, err
	}
	if nb.Author, err = text("input.author", in.Author, 1, maxAuthor, false); err != nil {
		return nb, err
	}
	if in.Description != nil {
		if nb.Description, err = text("input.description", *in.Description, 0, maxDescription, true); err != nil {
			return nb, err
		}
	}
	if err := r.validYear("input.publishedYear", in.PublishedYear); err != nil {
		return nb, err
	}
	if err := validPrice("input.priceCents", in.PriceCents); err != nil {
		return nb, err
	}
	if in.Stock != nil {
		if *in.Stock < 0 || *in.Stock > store.MaxStock {
			return nb, apierror.Input("input.stock", "must be between 0 and %d, got %d", store.MaxStock, *in.Stock)
		}
		nb.Stock = *in.Stock
	}
	return nb, nil
}

// required reads an optional field of updateBook's input that may be left
// out but not set to null.
func required[T any](field string, v graphql.Omittable[*T]) (*T, error) {
	p, set := v.ValueOK()
	if !set {
		return nil, nil
	}
	if p == nil {
		return nil, apierror.Input(field, "cannot be null; leave the field out to keep its value")
	}
	return p, nil
}

// optionalText reads a text field of updateBook's input, which may be left
// out but not set to null, and checks it as text does.
func optionalText(field string, v graphql.Omittable[*string], minLen, maxLen int, multiline bool) (*string, error) {
	p, err := required(field, v)
	if err != nil || p == nil {
		return nil, err
	}
	t, err := text(field, *p, minLen, maxLen, multiline)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// validateUpdate checks updateBook's input against the contract.
func (r *Resolver) validateUpdate(in model.UpdateBookInput) (store.Update, error) {
	var u store.Update
	var err error
	if u.Title, err = optionalText("input.title", in.Title, 1, maxTitle, false); err != nil {
		return u, err
	}
	if u.Author, err = optionalText("input.author", in.Author, 1, maxAuthor, false); err != nil {
		return u, err
	}
	if u.Description, err = optionalText("input.description", in.Description, 0, maxDescription, true); err != nil {
		return u, err
	}
	if year, set := in.PublishedYear.ValueOK(); set {
		if err := r.validYear("input.publishedYear", year); err != nil {
			return u, err
		}
		u.SetYear, u.PublishedYear = true, year
	}
	if u.PriceCents, err = required("input.priceCents", in.PriceCents); err != nil {
		return u, err
	}
	if u.PriceCents != nil {
		if err := validPrice("input.priceCents", *u.PriceCents); err != nil {
			return u, err
		}
	}
	return u, nil
}
