package tokenizer

import (
	"slices"
	"testing"
)

func TestTokenize(t *testing.T) {
	ids, mask := Tokenize("Hello, hello world!")
	if len(ids) != Length || len(mask) != Length {
		t.Fatalf("lengths %d, %d; want %d", len(ids), len(mask), Length)
	}
	if ids[0] != Start || ids[1] != ids[2] || ids[1] == ids[3] || ids[4] != Pad {
		t.Errorf("ids = %v", ids)
	}
	if want := []int64{1, 1, 1, 1, 0}; !slices.Equal(mask[:5], want) {
		t.Errorf("mask = %v, want prefix %v", mask, want)
	}
	for _, id := range ids[1:4] {
		if id < first || id >= first+Vocabulary {
			t.Errorf("word id %d outside the vocabulary", id)
		}
	}
}

func TestTokenizeCutsLongTexts(t *testing.T) {
	ids, mask := Tokenize("a b c d e f g h i j k l m n o p q r s t")
	if ids[Length-1] != WordID("o") || mask[Length-1] != 1 {
		t.Errorf("ids = %v", ids)
	}
}
