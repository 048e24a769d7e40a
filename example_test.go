package goai_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

// The call path of a generated client: a Pool, a Caller per client, and an
// attempt function that makes one ModelInfer on the model the Caller
// chose. Here the server fails the first attempt, and the retry succeeds.
func Example() {
	srv := inferencetest.New()
	if err := srv.Register(inferencetest.Identity("echo", tensor.FP32, 4)); err != nil {
		log.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()
	srv.Script(inferencetest.Fail(codes.Unavailable), inferencetest.Serve())

	// In production: goai.Dial("dns:///triton:8001", goai.WithTLSConfig(cfg)).
	pool, err := goai.Dial(srv.Target(), goai.WithDialOptions(srv.DialOptions()...))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	// What protoc-gen-goai generates from the annotations. A timeout
	// (CallPolicy.Timeout) is left out: on a busy machine it could cut
	// the call, and this example's output must not depend on its speed.
	desc := &goai.ModelDesc{
		Service: "demo.v1.Echo",
		Model:   goai.ModelRef{Name: "echo"},
		Methods: []goai.MethodDesc{{
			Name:       "Echo",
			FullMethod: "/demo.v1.Echo/Echo",
			Model:      goai.ModelRef{Name: "echo"},
			Policy: goai.CallPolicy{
				Retry: goai.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond},
			},
		}},
	}
	caller := goai.NewCaller(pool, desc)
	client := oippb.NewClient(pool)

	in := []float32{1, 2, 3, 4}
	var out []float32
	var info goai.CallInfo
	err = caller.Invoke(context.Background(), &desc.Methods[0], func(ctx context.Context, a goai.Attempt) error {
		resp, err := client.ModelInfer(ctx, &oippb.ModelInferRequest{
			ModelName:        a.Model.Name,
			ModelVersion:     a.Model.Version,
			Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "INPUT0", Datatype: "FP32", Shape: []int64{4}}},
			RawInputContents: [][]byte{tensor.AppendFloat32(nil, in)},
		}, a.CallOptions...)
		if err != nil {
			return err
		}
		if len(resp.RawOutputContents) != 1 {
			return errors.New("no output")
		}
		out, err = tensor.DecodeFloat32(out[:0], resp.RawOutputContents[0])
		return err
	}, goai.Report(&info))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out, "from", info.Model, "after", info.Attempts, "attempts")
	// Output: [1 2 3 4] from echo after 2 attempts
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

// A canary: 90% of calls to version 1, 10% to version 2, changed at run
// time. Each version has its own breaker.
func ExampleCaller_SetRoutes() {
	desc := &goai.ModelDesc{
		Model:   goai.ModelRef{Name: "ranker"},
		Methods: []goai.MethodDesc{{FullMethod: "/demo.v1.Ranker/Rank", Model: goai.ModelRef{Name: "ranker"}}},
	}
	caller := goai.NewCaller(nil, desc)
	if err := caller.SetRoutes([]goai.Route{{Version: "1", Weight: 90}, {Version: "2", Weight: 10}}); err != nil {
		log.Fatal(err)
	}
	served := map[string]int{}
	for range 1000 {
		_ = caller.Invoke(context.Background(), &desc.Methods[0], func(_ context.Context, a goai.Attempt) error {
			served[a.Model.Version]++
			return nil
		})
	}
	fmt.Println(served["1"] > 800, served["2"] > 50)
	// Output: true true
}
