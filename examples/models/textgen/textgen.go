// Package textgen is the demo's language model: a tiny deterministic one
// that continues a prompt word by word, as an LLM streams its tokens. It
// walks a fixed bigram table of short English sentences, choosing each
// next word among the previous one's successors with a generator seeded
// by a hash of the prompt, and stops at its end token, which only a
// finished sentence may be followed by, or after the requested number of
// tokens. The same prompt always gets the same text, so that a client can
// check every token it was sent.
package textgen

import (
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTokens is the most tokens Generate returns, whatever it is asked
// for, as a model server caps a request's max_tokens by its context.
const MaxTokens = 256

// end is the end token: the model stops when it draws it.
const end = ""

// start names the state before the first word, a sentence's start.
const start = "."

// successors is the bigram table: the words that may follow each word,
// equally likely. Words ending with a period end a sentence; one of the
// eight successors of each is the end token, so that texts run
// eight sentences on average, unless cut at the requested length.
var successors = map[string][]string{
	start:        {"the", "a", "every"},
	"the":        {"model", "server", "client", "stream", "request", "answer"},
	"a":          {"model", "server", "client", "stream", "request"},
	"every":      {"request", "client", "token"},
	"model":      {"answers", "streams", "sends", "reads"},
	"server":     {"answers", "streams", "sends", "reads", "waits"},
	"client":     {"reads", "sends", "waits", "retries"},
	"stream":     {"carries", "ends", "waits"},
	"request":    {"carries", "waits", "ends"},
	"answer":     {"carries", "ends"},
	"token":      {"arrives"},
	"answers":    {"the", "every", "a", "quickly."},
	"streams":    {"the", "every", "tokens", "quickly."},
	"sends":      {"the", "a", "every", "tokens"},
	"reads":      {"the", "every", "tokens", "carefully."},
	"waits":      {"for", "patiently.", "again."},
	"retries":    {"the", "once.", "again."},
	"carries":    {"the", "a", "tokens"},
	"ends":       {"cleanly.", "here."},
	"arrives":    {"in", "late.", "quickly."},
	"for":        {"the", "a", "every"},
	"in":         {"order.", "time.", "the"},
	"tokens":     {"in", "and", "quickly."},
	"and":        {"the", "a", "every"},
	"quickly.":   sentenceEnd,
	"carefully.": sentenceEnd,
	"patiently.": sentenceEnd,
	"again.":     sentenceEnd,
	"once.":      sentenceEnd,
	"cleanly.":   sentenceEnd,
	"here.":      sentenceEnd,
	"late.":      sentenceEnd,
	"order.":     sentenceEnd,
	"time.":      sentenceEnd,
}

// sentenceEnd follows a finished sentence: a new one, or the end.
var sentenceEnd = []string{end, "the", "a", "every", "the", "a", "every", "the"}

// Generate returns the tokens that continue prompt, at most maxTokens of
// them (capped at MaxTokens; none for maxTokens <= 0): words, each but the
// first with the space before it, so that concatenated they read as text.
// Fewer come when the model draws its end token, which it does only after
// a sentence's last word.
func Generate(prompt string, maxTokens int) []string {
	n := min(maxTokens, MaxTokens)
	if n <= 0 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(prompt))
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tokens := make([]string, 0, n)
	prev := start
	for len(tokens) < n {
		next := successors[prev]
		word := next[rng.IntN(len(next))]
		if word == end {
			break
		}
		text := word
		if strings.HasSuffix(prev, ".") {
			text = capitalize(word)
		}
		if len(tokens) > 0 {
			text = " " + text
		}
		tokens = append(tokens, text)
		prev = word
	}
	return tokens
}

// capitalize returns word with its first letter in upper case, for the
// start of a sentence.
func capitalize(word string) string {
	r, size := utf8.DecodeRuneInString(word)
	return string(unicode.ToUpper(r)) + word[size:]
}
