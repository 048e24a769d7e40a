package goai_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"slices"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// A generated client's call under its rpc's policy: here the server
// fails the first attempt with UNAVAILABLE, and the retry the annotations
// allow succeeds. The model is a generated fake, served in process.
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
	if err := srv.StartBufconn(); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())

	// In production: visionv1.NewImageClassifierModelClient("dns:///triton:8001",
	// goai.WithTLSConfig(cfg), goai.WithPoolSize(2)).
	conn, err := srv.Dial()
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := visionv1.NewImageClassifierModelClientFromConn(conn)

	img := &visionv1.Image{Pixels: make([]float32, 3*224*224)}
	img.Pixels[0] = 0.2075
	// ClassifyOffline's policy: 3 attempts, 30s for the call and no
	// attempt timeout, so that the output does not depend on how busy the
	// machine is.
	var info goai.CallInfo
	res, err := client.ClassifyOffline(context.Background(), img, goai.Report(&info))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("class", slices.Index(res.GetScores(), 1), "from", info.Model, "after", info.Attempts, "attempts")
	// Output: class 207 from resnet50@3 after 2 attempts
}

// A pool of two connections over mutual TLS, with a bearer token on each
// call and the client's defaults spelled out.
func ExampleDial() {
	var clientCert tls.Certificate // loaded with tls.LoadX509KeyPair
	pool, err := goai.Dial("dns:///triton.internal:8001",
		goai.WithPoolSize(2),
		goai.WithPickPolicy(goai.PickLeastOutstanding),
		goai.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS13}),
		goai.WithMaxRecvMsgSize(goai.DefaultMaxMsgSize),
		goai.WithKeepalive(goai.DefaultKeepalive),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	fmt.Println(pool.Len(), "connections to", pool.Target())
	// Output: 2 connections to dns:///triton.internal:8001
}

// A canary: 90% of calls to version 1 of the model, 10% to version 2,
// changed at run time; each version has its own breaker.
func ExampleClient_SetRoutes() {
	conn, err := grpc.NewClient("passthrough:///triton.internal:8001", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := visionv1.NewImageClassifierModelClientFromConn(conn)
	if err := client.SetRoutes([]goai.Route{{Version: "1", Weight: 90}, {Version: "2", Weight: 10}}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.Routes())
	fmt.Println(client.BreakerState(goai.ModelRef{Name: "resnet50", Version: "2"}))
	// Output:
	// [{1 90} {2 10}]
	// closed
}
