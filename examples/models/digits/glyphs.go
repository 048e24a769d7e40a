// Package digits is the example model served by goai's demo: a small dense
// network (64 → 32 ReLU → 10 softmax) that classifies noisy 8×8 images of
// the digits 0–9. Its trained weights ship in weights.bin; `go run
// ./examples/models/digits/train` retrains them deterministically.
package digits

import (
	"math/rand/v2"
)

// Side is the width and height of a glyph in pixels.
const Side = 8

// Pixels is the number of pixels of a glyph.
const Pixels = Side * Side

// Classes is the number of digit classes.
const Classes = 10

// font holds a 5×7 bitmap per digit, drawn in the middle of the 8×8 image.
var font = [Classes][7]string{
	{".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	{"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	{".###.", "#...#", "....#", "..##.", ".#...", "#....", "#####"},
	{"####.", "....#", "....#", ".###.", "....#", "....#", "####."},
	{"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	{"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	{"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	{"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	{".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	{".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
}

// Render draws digit d, shifted by (dx, dy) pixels, into an 8×8 image with
// pixels in [0, 1], row-major.
func Render(d, dx, dy int) []float32 {
	img := make([]float32, Pixels)
	for r, row := range font[d%Classes] {
		for c, ch := range row {
			if ch != '#' {
				continue
			}
			y, x := r+dy, c+1+dx
			if y >= 0 && y < Side && x >= 0 && x < Side {
				img[y*Side+x] = 1
			}
		}
	}
	return img
}

// Noisy draws digit d with a random shift of up to one pixel and grey
// noise of the given amplitude, clamped to [0, 1].
func Noisy(rng *rand.Rand, d int, noise float32) []float32 {
	img := Render(d, rng.IntN(3)-1, rng.IntN(2))
	for i := range img {
		v := img[i] + (rng.Float32()*2-1)*noise
		img[i] = min(max(v, 0), 1)
	}
	return img
}
