package digits

import (
	"bytes"
	"testing"
)

func TestTrainedWeightsAreReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("retrains the network")
	}
	got := Train(1, 200000, 0.6, 0.01).Bytes()
	if !bytes.Equal(got, trainedWeights) {
		t.Fatal("weights.bin differs from a fresh training run; run `go run ./examples/models/digits/train`")
	}
}

func TestTrainedAccuracy(t *testing.T) {
	net, err := Trained()
	if err != nil {
		t.Fatal(err)
	}
	if acc := Accuracy(net, 3, 5000, 0.6); acc < 0.97 {
		t.Fatalf("accuracy %.4f, want >= 0.97", acc)
	}
	// Without noise every digit must be recognised.
	for d := range Classes {
		probs, err := net.Forward(Render(d, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if got := Argmax(probs); got != d {
			t.Errorf("clean %d classified as %d", d, got)
		}
	}
}

func TestForwardRejectsPartialImage(t *testing.T) {
	net, err := Trained()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Forward(make([]float32, Pixels+1)); err == nil {
		t.Fatal("want an error for a partial image")
	}
}

func TestFromBytesRejectsWrongSize(t *testing.T) {
	if _, err := FromBytes(make([]byte, 7)); err == nil {
		t.Fatal("want an error for a short weights file")
	}
}
