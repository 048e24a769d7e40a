package digits

import (
	"math"
	"math/rand/v2"
)

// Train fits a new network with plain stochastic gradient descent on
// noisy glyphs, deterministically for a given seed.
func Train(seed uint64, steps int, noise, rate float32) *Net {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := make([]float32, NumWeights)
	n := fromSlice(w)
	scale1 := float32(math.Sqrt(2.0 / Pixels))
	for i := range n.W1 {
		n.W1[i] = float32(rng.NormFloat64()) * scale1
	}
	scale2 := float32(math.Sqrt(2.0 / Hidden))
	for i := range n.W2 {
		n.W2[i] = float32(rng.NormFloat64()) * scale2
	}
	var hidden [Hidden]float32
	var probs [Classes]float32
	for range steps {
		label := rng.IntN(Classes)
		img := Noisy(rng, label, noise)
		n.forward(img, hidden[:], probs[:])
		// Cross-entropy gradient of softmax: probs - onehot.
		var dHidden [Hidden]float32
		for c := range Classes {
			g := probs[c]
			if c == label {
				g--
			}
			row := n.W2[c*Hidden : (c+1)*Hidden]
			for h := range Hidden {
				dHidden[h] += g * row[h]
				row[h] -= rate * g * hidden[h]
			}
			n.B2[c] -= rate * g
		}
		for h := range Hidden {
			if hidden[h] <= 0 {
				continue
			}
			g := dHidden[h]
			row := n.W1[h*Pixels : (h+1)*Pixels]
			for i, v := range img {
				row[i] -= rate * g * v
			}
			n.B1[h] -= rate * g
		}
	}
	return n
}

// Accuracy returns the fraction of count noisy glyphs that n classifies
// right.
func Accuracy(n *Net, seed uint64, count int, noise float32) float64 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	var hidden [Hidden]float32
	var probs [Classes]float32
	right := 0
	for i := range count {
		label := i % Classes
		n.forward(Noisy(rng, label, noise), hidden[:], probs[:])
		if Argmax(probs[:]) == label {
			right++
		}
	}
	return float64(right) / float64(count)
}
