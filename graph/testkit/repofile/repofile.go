// Package repofile reads the repository's files that tests check the code
// against: a section of a Markdown document, and an env file of the
// Kubernetes manifests.
package repofile

import (
	"os"
	"strings"
	"testing"
)

// Section returns the part of the Markdown document at path from the line
// heading ("## Configuration") up to the line next, the heading that
// follows it. It fails the test when either is missing or out of order.
func Section(t testing.TB, path, heading, next string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "\n"+heading+"\n")
	end := strings.Index(doc, "\n"+next+"\n")
	if start < 0 || end < start {
		t.Fatalf("%s has no section %q", path, heading)
	}
	return doc[start:end]
}

// Env reads an env file, KEY=VALUE lines, skipping blank lines and #
// comments. It returns the keys in the file's order and the values.
func Env(t testing.TB, path string) ([]string, map[string]string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	vars := map[string]string{}
	for line := range strings.Lines(string(raw)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		keys = append(keys, k)
		vars[k] = v
	}
	return keys, vars
}
