package isa

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Family{"generic": Generic, " AVX2 ": AVX2, "avx512": AVX512, "purego": Generic} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := Parse("sse9"); err == nil {
		t.Error("Parse(sse9) gave no error")
	}
}

func TestChoose(t *testing.T) {
	if f, err := choose("", AVX2); f != AVX2 || err != nil {
		t.Errorf("no override: %v, %v", f, err)
	}
	if f, err := choose("generic", AVX512); f != Generic || err != nil {
		t.Errorf("generic override: %v, %v", f, err)
	}
	f, err := choose("avx512", AVX2)
	if err == nil || f != Generic || !strings.Contains(err.Error(), "at most avx2") {
		t.Errorf("unsupported override: %v, %v", f, err)
	}
	if _, err := choose("bogus", AVX512); err == nil {
		t.Error("bogus override gave no error")
	}
}

func TestSelectedIsSupported(t *testing.T) {
	if Err() != nil {
		t.Fatalf("DECONV_ISA cannot be honoured: %v", Err())
	}
	if !Supported(Selected()) {
		t.Fatalf("selected %v is not supported (detected %v)", Selected(), Detected())
	}
	av := Available()
	if av[0] != Generic || av[len(av)-1] != Detected() {
		t.Fatalf("Available() = %v, detected %v", av, Detected())
	}
	t.Logf("detected %v, selected %v", Detected(), Selected())
}
