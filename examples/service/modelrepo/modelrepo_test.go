package modelrepo

import (
	"bytes"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	"github.com/goai-dev/goai/examples/models/digits"
	"gorgonia.org/tensor"
)

// skipTraining skips a test that trains version 2: two seconds normally,
// about twenty under the race detector, in a package with no concurrency
// for it to check.
func skipTraining(t *testing.T) {
	t.Helper()
	if testing.Short() || raceEnabled {
		t.Skip("trains version 2 of the model; run without -short and -race")
	}
}

// The exported graph, run by an ONNX runtime that shares no code with the
// exporter, computes what the network computes.
func TestONNXComputesTheNetwork(t *testing.T) {
	versions := Versions
	if testing.Short() || raceEnabled {
		versions = versions[:1] // the shipped weights, no training
	}
	for _, v := range versions {
		net, err := v.Net()
		if err != nil {
			t.Fatal(err)
		}
		b, err := ONNX(net, v.Number)
		if err != nil {
			t.Fatal(err)
		}
		model, err := gonnx.NewModelFromBytes(b)
		if err != nil {
			t.Fatalf("version %d: gonnx cannot load the export: %v", v.Number, err)
		}
		if got := model.InputNames(); !slices.Equal(got, []string{InputName}) {
			t.Errorf("version %d: inputs %v", v.Number, got)
		}
		if got := model.OutputNames(); !slices.Equal(got, []string{OutputName}) {
			t.Errorf("version %d: outputs %v", v.Number, got)
		}

		// A batch of noisy glyphs and one of each clean digit.
		rng := rand.New(rand.NewPCG(7, uint64(v.Number)))
		var images []float32
		for d := range digits.Classes {
			images = append(images, digits.Render(d, 0, 0)...)
			images = append(images, digits.Noisy(rng, d, 0.6)...)
		}
		batch := len(images) / digits.Pixels
		want, err := net.Forward(images)
		if err != nil {
			t.Fatal(err)
		}
		out, err := model.Run(gonnx.Tensors{InputName: tensor.New(
			tensor.WithShape(batch, digits.Side, digits.Side), tensor.WithBacking(slices.Clone(images)))})
		if err != nil {
			t.Fatalf("version %d: running the export: %v", v.Number, err)
		}
		probs := out[OutputName]
		if probs == nil {
			t.Fatalf("version %d: no %q output; got %v", v.Number, OutputName, out)
		}
		if s := probs.Shape(); !slices.Equal([]int(s), []int{batch, digits.Classes}) {
			t.Fatalf("version %d: output shape %v, want [%d %d]", v.Number, s, batch, digits.Classes)
		}
		got := probs.Data().([]float32)
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("version %d: probs[%d] = %v, the network says %v", v.Number, i, got[i], want[i])
			}
		}
		for b := range batch {
			if g, w := digits.Argmax(got[b*10:(b+1)*10]), digits.Argmax(want[b*10:(b+1)*10]); g != w {
				t.Errorf("version %d: image %d classified %d, the network says %d", v.Number, b, g, w)
			}
		}
	}
}

func TestONNXRefusesAPartialNetwork(t *testing.T) {
	net, err := digits.Trained()
	if err != nil {
		t.Fatal(err)
	}
	net.B2 = net.B2[:9]
	if _, err := ONNX(net, 1); err == nil {
		t.Fatal("ONNX exported a network with 9 output biases")
	}
}

// Version 2 is a different network from version 1, and a working one.
func TestVersionsDiffer(t *testing.T) {
	skipTraining(t)
	v1, _ := Versions[0].Net()
	v2, _ := Versions[1].Net()
	if bytes.Equal(v1.Bytes(), v2.Bytes()) {
		t.Fatal("versions 1 and 2 have the same weights: the canary would show nothing")
	}
	if acc := digits.Accuracy(v2, 3, 5000, 0.6); acc < 0.97 {
		t.Fatalf("version 2's accuracy %.4f, want >= 0.97", acc)
	}
}

// The committed model repository and its ConfigMap are what the generator
// writes now; run `go run ./cmd/modelrepo` in examples/service after a
// change.
func TestCommittedRepositoryIsCurrent(t *testing.T) {
	skipTraining(t)
	files, err := Files(Versions)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "model_repository")
	var committed []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		committed = append(committed, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for f := range files {
		want = append(want, f)
	}
	slices.Sort(want)
	if !slices.Equal(committed, want) {
		t.Fatalf("model_repository holds %v, the generator writes %v; run `go run ./cmd/modelrepo`", committed, want)
	}
	for _, f := range want {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files[f]) {
			t.Errorf("model_repository/%s is stale; run `go run ./cmd/modelrepo`", f)
		}
	}
	got, err := os.ReadFile(filepath.Join("..", "deploy", "triton-model-repository.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ConfigMap(files)) {
		t.Error("deploy/triton-model-repository.yaml is stale; run `go run ./cmd/modelrepo`")
	}
}
