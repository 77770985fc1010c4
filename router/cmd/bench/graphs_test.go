package main

import (
	"strings"
	"testing"
)

func TestSections(t *testing.T) {
	all, err := sections("")
	if err != nil || len(all) != len(sectionNames) {
		t.Fatalf("sections(\"\") = %v, %v: want every section", all, err)
	}
	got, err := sections(" e,F ")
	if err != nil || len(got) != 2 || !got["E"] || !got["F"] {
		t.Errorf("sections(\" e,F \") = %v, %v: want E and F", got, err)
	}
	for _, bad := range []string{"X", "E,,F", "EF"} {
		if _, err := sections(bad); err == nil {
			t.Errorf("sections(%q): want an error", bad)
		}
	}
}

func TestParsePeer(t *testing.T) {
	p, err := parsePeer("E|Cosmo Router|http://127.0.0.1:4000/graphql|/opt/cosmo/run.sh -x 1")
	if err != nil || p.section != "E" || p.name != "Cosmo Router" || p.url != "http://127.0.0.1:4000/graphql" ||
		strings.Join(p.argv, " ") != "/opt/cosmo/run.sh -x 1" {
		t.Errorf("parsePeer = %+v, %v", p, err)
	}
	for _, bad := range []string{"G|x|http://a|cmd", "E||http://a|cmd", "E|x|ftp://a|cmd", "E|x|http://a|  ", "E|x|http://a"} {
		if _, err := parsePeer(bad); err == nil {
			t.Errorf("parsePeer(%q): want an error", bad)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Hive Gateway (Rust QP) (big)": "hive-gateway-rust-qp-big", "router": "router"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}
