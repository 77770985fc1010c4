package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReadSums(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    int
		wantErr bool
	}{
		{"committed file", "", 4, false}, // the real ../../_npm/SHA256SUMS
		{"comment and blank", "# pins\n\nabc  graphiql.min.js\n", 1, false},
		{"one space", "abc graphiql.min.js\n", 0, true},
		{"unknown asset", "abc  evil.js\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join("..", "..", "_npm", "SHA256SUMS")
			if tt.text != "" {
				file = filepath.Join(t.TempDir(), "SHA256SUMS")
				if err := os.WriteFile(file, []byte(tt.text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sums, err := readSums(file)
			if (err != nil) != tt.wantErr || len(sums) != tt.want {
				t.Errorf("readSums = %v, %v; want %d sums, error %v", sums, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "graphiql.min.js"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{
		"graphiql.min.js":  hash([]byte("x")),
		"graphiql.min.css": hash([]byte("y")),
	}
	got := check(dir, sums)
	if len(got) != 1 || got[0] != "graphiql.min.css" {
		t.Errorf("check = %v, want [graphiql.min.css]", got)
	}
	sums["graphiql.min.js"] = hash([]byte("changed"))
	if got := check(dir, sums); len(got) != 2 {
		t.Errorf("check with a changed file = %v, want both", got)
	}
}
