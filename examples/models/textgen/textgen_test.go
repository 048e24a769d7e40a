package textgen

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSuccessorsAreWords(t *testing.T) {
	for word, next := range successors {
		for _, w := range next {
			if w == end {
				if !strings.HasSuffix(word, ".") {
					t.Errorf("%q, which ends no sentence, may be followed by the end token", word)
				}
				continue
			}
			if _, ok := successors[w]; !ok || w == start {
				t.Errorf("%q may be followed by %q, which has no successors", word, w)
			}
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b := Generate("Once upon a time", 64), Generate("Once upon a time", 64)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Fatalf("two runs gave %q and %q", a, b)
	}
	// A shorter request gets the same text, cut.
	if short := Generate("Once upon a time", 5); !slices.Equal(short, a[:min(5, len(a))]) {
		t.Errorf("5 tokens: %q, want a prefix of %q", short, a)
	}
}

func TestGenerateReadsAsText(t *testing.T) {
	for i := range 50 {
		tokens := Generate(fmt.Sprint("prompt ", i), MaxTokens)
		for j, tok := range tokens {
			word, spaced := strings.CutPrefix(tok, " ")
			if spaced != (j > 0) || word == "" || strings.Contains(word, " ") {
				t.Fatalf("prompt %d: token %d is %q: want a word, with a space before it but for the first", i, j, tok)
			}
			if _, ok := successors[strings.ToLower(word)]; !ok {
				t.Fatalf("prompt %d: token %d, %q, is not in the vocabulary", i, j, tok)
			}
			startsSentence := j == 0 || strings.HasSuffix(tokens[j-1], ".")
			if upper := word[:1] != strings.ToLower(word[:1]); upper != startsSentence {
				t.Fatalf("prompt %d: token %d is %q after %q: sentences, and only they, start with a capital", i, j, tok, tokens[max(j-1, 0)])
			}
		}
	}
}

// prompt returns the first prompt of a bounded deterministic series whose
// text, generated up to MaxTokens, has a length that ok accepts.
func prompt(t *testing.T, ok func(n int) bool) string {
	t.Helper()
	for i := range 100000 {
		p := fmt.Sprint("prompt ", i)
		if ok(len(Generate(p, MaxTokens))) {
			return p
		}
	}
	t.Fatal("no prompt in the series fits")
	return ""
}

func TestGenerateCapsMaxTokens(t *testing.T) {
	// A prompt whose text runs to the cap: asking for more changes nothing.
	p := prompt(t, func(n int) bool { return n == MaxTokens })
	if got := Generate(p, 10*MaxTokens); len(got) != MaxTokens {
		t.Errorf("%d tokens asked of %q: got %d, want the cap, %d", 10*MaxTokens, p, len(got), MaxTokens)
	}
	for _, n := range []int{0, -1} {
		if got := Generate(p, n); got != nil {
			t.Errorf("max tokens %d: got %q, want none", n, got)
		}
	}
}

func TestGenerateStopsAtTheEndToken(t *testing.T) {
	p := prompt(t, func(n int) bool { return n > 0 && n < 32 })
	got := Generate(p, MaxTokens)
	if more := Generate(p, len(got)+1); !slices.Equal(more, got) {
		t.Errorf("%q: %q with the room for one more token, %q without", p, more, got)
	}
	if last := got[len(got)-1]; !strings.HasSuffix(last, ".") {
		t.Errorf("%q: the text stops at %q, in the middle of a sentence", p, last)
	}
}

func TestPromptsGiveDifferentTexts(t *testing.T) {
	texts := map[string]bool{}
	for i := range 100 {
		texts[strings.Join(Generate(fmt.Sprint("prompt ", i), 32), "")] = true
	}
	// Two prompts may happen to draw the same short text; most must not.
	if len(texts) < 95 {
		t.Errorf("100 prompts gave %d different texts", len(texts))
	}
}
