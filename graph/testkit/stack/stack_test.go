package stack

import "testing"

func TestURLs(t *testing.T) {
	srv := ServerAt("postgres://postgres:secret@127.0.0.1:5433/bookstore?sslmode=disable")
	if got, want := srv.URL(""), "postgres://postgres:secret@127.0.0.1:5433/bookstore?sslmode=disable"; got != want {
		t.Errorf("URL(\"\") = %q, want %q", got, want)
	}
	db := &Database{Name: "other", URL: srv.URL("other"), Roles: DevRoles}
	if got, want := db.URL, "postgres://postgres:secret@127.0.0.1:5433/other?sslmode=disable"; got != want {
		t.Errorf("URL(other) = %q, want %q", got, want)
	}
	if got, want := db.BooksURL(), "postgres://books_app:dev-books_app@127.0.0.1:5433/other?sslmode=disable"; got != want {
		t.Errorf("BooksURL = %q, want %q", got, want)
	}
	if got, want := db.OrdersURL(), "postgres://orders_app:dev-orders_app@127.0.0.1:5433/other?sslmode=disable"; got != want {
		t.Errorf("OrdersURL = %q, want %q", got, want)
	}
	if got, want := Redact(srv.URL("")), "postgres://postgres:xxxxx@127.0.0.1:5433/bookstore?sslmode=disable"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	r := RandomRoles()
	if r.Books.User != "books_app" || r.Orders.User != "orders_app" || len(r.Books.Password) != 24 || r.Books.Password == r.Orders.Password {
		t.Errorf("RandomRoles = %+v", r)
	}
}
