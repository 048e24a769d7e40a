package visionv1_test

import (
	"context"
	"fmt"
	"log"
	"slices"
	"sync"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
)

// Concurrent single calls coalesced into one request: a server handling
// one image per request calls the batcher's Do from each handler.
func ExampleImageClassifierModelClient_NewClassifyOfflineBatcher() {
	srv := inferencetest.New()
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
	client, err := visionv1.NewImageClassifierModelClient(srv.Addr(), goai.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	// The model's batching policy, from its annotation, waits 2ms for up
	// to 16 images; here batches of 4 wait as long as they must, so that
	// the example's output does not depend on timing.
	batcher := client.NewClassifyOfflineBatcher(goai.WithBatcherPolicy(goai.BatchingPolicy{MaxSize: 4, MaxDelay: time.Hour}))
	defer batcher.Close()

	classes := make([]int, 4)
	var wg sync.WaitGroup
	for i := range classes {
		wg.Go(func() {
			img := &visionv1.Image{Pixels: make([]float32, 3*224*224)}
			img.Pixels[0] = (float32(100*i) + 0.5) / 1000
			res, err := batcher.Do(context.Background(), img)
			if err != nil {
				log.Fatal(err)
			}
			classes[i] = slices.Index(res.GetScores(), 1)
		})
	}
	wg.Wait()
	fmt.Println("classes", classes)
	fmt.Println(srv.Stats().Models["resnet50"].Calls, "request")
	// Output:
	// classes [0 100 200 300]
	// 1 request
}
