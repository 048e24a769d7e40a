// Package tokenizer is the demo's text model: it splits a text into
// lower-cased words and hashes each into a fixed vocabulary, padding or
// cutting the result to a fixed length, as a text model's preprocessing
// step does.
package tokenizer

import (
	"hash/fnv"
	"strings"
	"unicode"
)

// Length is the number of token ids per text.
const Length = 16

// Vocabulary is the number of distinct ids a word can hash to, above the
// reserved ones.
const Vocabulary = 30000

// Reserved ids.
const (
	Pad   = 0 // padding after the text
	Start = 1 // marks the start of every text
	first = 2 // the first id a word can get
)

// Tokenize returns the token ids of text and its attention mask, Length
// each: Start, one id per word, then Pad.
func Tokenize(text string) (ids, mask []int64) {
	ids = make([]int64, Length)
	mask = make([]int64, Length)
	ids[0], mask[0] = Start, 1
	n := 1
	for _, word := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if n == Length {
			break
		}
		ids[n], mask[n] = WordID(word), 1
		n++
	}
	return ids, mask
}

// WordID returns the id of one word, case-insensitively.
func WordID(word string) int64 {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(word)))
	return first + int64(h.Sum32()%Vocabulary)
}
