package digits

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"
)

// Hidden is the width of the hidden layer.
const Hidden = 32

// NumWeights is the number of float32 parameters of a [Net].
const NumWeights = Pixels*Hidden + Hidden + Hidden*Classes + Classes

//go:embed weights.bin
var trainedWeights []byte

// Net is the dense classifier: 64 inputs, one hidden ReLU layer, softmax out.
type Net struct {
	W1 []float32 // Hidden×Pixels, row-major
	B1 []float32 // Hidden
	W2 []float32 // Classes×Hidden, row-major
	B2 []float32 // Classes
}

// Trained returns the network with the weights that ship in weights.bin.
func Trained() (*Net, error) {
	return FromBytes(trainedWeights)
}

// FromBytes reads a network from NumWeights little-endian float32 values.
func FromBytes(b []byte) (*Net, error) {
	if len(b) != NumWeights*4 {
		return nil, fmt.Errorf("digits: weights are %d bytes, want %d", len(b), NumWeights*4)
	}
	w := make([]float32, NumWeights)
	for i := range w {
		w[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return fromSlice(w), nil
}

func fromSlice(w []float32) *Net {
	n := &Net{}
	n.W1, w = w[:Pixels*Hidden], w[Pixels*Hidden:]
	n.B1, w = w[:Hidden], w[Hidden:]
	n.W2, w = w[:Hidden*Classes], w[Hidden*Classes:]
	n.B2 = w[:Classes]
	return n
}

// Bytes returns the network's weights as little-endian float32 values.
func (n *Net) Bytes() []byte {
	b := make([]byte, 0, NumWeights*4)
	for _, part := range [][]float32{n.W1, n.B1, n.W2, n.B2} {
		for _, v := range part {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// Forward classifies a batch of images, Pixels values each, and returns
// Classes probabilities per image.
func (n *Net) Forward(images []float32) ([]float32, error) {
	if len(images)%Pixels != 0 {
		return nil, fmt.Errorf("digits: %d pixels is not a whole number of %d-pixel images", len(images), Pixels)
	}
	batch := len(images) / Pixels
	out := make([]float32, batch*Classes)
	var hidden [Hidden]float32
	for b := range batch {
		n.forward(images[b*Pixels:(b+1)*Pixels], hidden[:], out[b*Classes:(b+1)*Classes])
	}
	return out, nil
}

// forward computes one image's probabilities into probs, using hidden as
// scratch space, and returns the hidden activations for training.
func (n *Net) forward(img, hidden, probs []float32) {
	for h := range Hidden {
		s := n.B1[h]
		row := n.W1[h*Pixels : (h+1)*Pixels]
		for i, v := range img {
			s += row[i] * v
		}
		hidden[h] = max(s, 0)
	}
	maxLogit := float32(math.Inf(-1))
	for c := range Classes {
		s := n.B2[c]
		row := n.W2[c*Hidden : (c+1)*Hidden]
		for h, v := range hidden {
			s += row[h] * v
		}
		probs[c] = s
		maxLogit = max(maxLogit, s)
	}
	var sum float32
	for c := range probs {
		probs[c] = float32(math.Exp(float64(probs[c] - maxLogit)))
		sum += probs[c]
	}
	for c := range probs {
		probs[c] /= sum
	}
}

// Argmax returns the index of the largest value of p.
func Argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}
