package visionv1_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
)

// Code that classifies images, tested without a model server: the
// generated fake serves the model in process, and the generated client
// calls it over loopback TCP as it would call Triton.
func Example() {
	srv := inferencetest.New()
	// The fake picks the class that the first pixel names, in thousandths.
	err := visionv1goaitest.RegisterImageClassifierFake(srv, visionv1goaitest.ImageClassifierFakeFunc(
		func(ctx context.Context, img *visionv1.Image) (*visionv1.Classification, error) {
			scores := make([]float32, 1000)
			scores[int(img.GetPixels()[0]*1000)] = 1
			return &visionv1.Classification{Scores: scores}, nil
		}))
	if err != nil {
		log.Fatal(err)
	}
	if err := srv.StartTCP(); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	// In production: visionv1.NewImageClassifierModelClient("dns:///triton:8001", goai.WithTLSConfig(cfg)).
	client, err := visionv1.NewImageClassifierModelClient(srv.Addr(), goai.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	if err := client.CheckModel(ctx); err != nil {
		log.Fatal(err)
	}

	image := func(class int) *visionv1.Image {
		img := &visionv1.Image{Pixels: make([]float32, 3*224*224)}
		img.Pixels[0] = (float32(class) + 0.5) / 1000
		return img
	}
	// Classify's policy gives a call 200ms and an attempt 80ms: right for a
	// user waiting on a GPU server, too tight for a test on a busy
	// machine, where a slow attempt would be retried. A test lifts both
	// per call, as here: one request, however long it takes.
	res, err := client.Classify(ctx, image(207), goai.WithTimeout(0), goai.WithAttemptTimeout(0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("class", slices.Index(res.GetScores(), 1))

	// A backfill: three images in one request, under ClassifyOffline's
	// policy: 30s for the call, no attempt timeout.
	batch, err := client.ClassifyOfflineBatch(ctx, []*visionv1.Image{image(1), image(22), image(333)})
	if err != nil {
		log.Fatal(err)
	}
	for _, res := range batch {
		fmt.Println("class", slices.Index(res.GetScores(), 1))
	}
	fmt.Println(srv.Stats().Models["resnet50"].Calls, "requests")
	// Output:
	// class 207
	// class 1
	// class 22
	// class 333
	// 2 requests
}
