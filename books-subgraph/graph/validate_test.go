package graph

import "testing"

func TestValidISBN13(t *testing.T) {
	for isbn, want := range map[string]bool{
		"9780134190440":  true,
		"9791032305690":  true,
		"9780134190441":  false, // check digit
		"9770134190443":  false, // not a book prefix
		"978013419044":   false,
		"97801341904400": false,
		"978-0134190440": false,
		"978013419044X":  false,
		"":               false,
		"９７８０１３４１９０４４０": false, // full-width digits
	} {
		if got := validISBN13(isbn); got != want {
			t.Errorf("validISBN13(%q) = %v, want %v", isbn, got, want)
		}
	}
}
