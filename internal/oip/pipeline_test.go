package oip_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oip"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// gated is a model "gate" echoing INPUT0 ([1] FP32) once open is closed.
func gated(open <-chan struct{}) inferencetest.Model {
	return inferencetest.Model{
		Name:    "gate",
		Inputs:  []inferencetest.TensorSpec{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{1}}},
		Outputs: []inferencetest.TensorSpec{{Name: "OUTPUT0", DType: tensor.FP32, Shape: []int64{1}}},
		Infer: func(ctx context.Context, req *inferencetest.Request) ([]tensor.Tensor, error) {
			select {
			case <-open:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			in := req.Inputs[0]
			return []tensor.Tensor{{Name: "OUTPUT0", DType: in.DType, Shape: in.Shape, Raw: in.Raw}}, nil
		},
	}
}

func gateRequest(v float32) *wire.Request {
	return &wire.Request{Model: "gate", Inputs: []tensor.Tensor{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{1}, Raw: tensor.AppendFloat32(nil, []float32{v})}}}
}

func startPipeline(t *testing.T, m inferencetest.Model, o oip.PipelineOptions) (*inferencetest.Server, *oip.Pipeline) {
	t.Helper()
	srv := inferencetest.New()
	if err := srv.Register(m); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cc, err := srv.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	p := oip.NewPipeline(cc, o)
	t.Cleanup(func() { _ = p.Close() })
	return srv, p
}

func TestPipelineBackPressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := make(chan struct{})
		srv, p := startPipeline(t, gated(open), oip.PipelineOptions{Streams: 1, MaxInFlight: 2})
		results := make(chan error, 2)
		for i := range 2 {
			go func() {
				resp, err := p.Infer(t.Context(), gateRequest(float32(i)), nil)
				if err == nil {
					if v, _ := tensor.DecodeFloat32(nil, resp.Outputs[0].Raw); len(v) != 1 || v[0] != float32(i) {
						err = status.Errorf(codes.Internal, "request %d answered %v", i, v)
					}
				}
				results <- err
			}()
		}
		synctest.Wait()
		// The stream is full: a third request waits for room, within its
		// deadline, without being sent.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if _, err := p.Infer(ctx, gateRequest(9), nil); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("a request beyond MaxInFlight: %v, want DEADLINE_EXCEEDED", err)
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("the server received %d requests, want the 2 with room", n)
		}
		close(open)
		for range 2 {
			if err := <-results; err != nil {
				t.Error(err)
			}
		}
		// Room again.
		if _, err := p.Infer(t.Context(), gateRequest(3), nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPipelineMaxSend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := make(chan struct{})
		close(open)
		srv, p := startPipeline(t, gated(open), oip.PipelineOptions{MaxSend: 64})
		big := gateRequest(1)
		big.Inputs[0].Raw = make([]byte, 1024)
		if _, err := p.Infer(t.Context(), big, nil); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a request over MaxSend: %v, want RESOURCE_EXHAUSTED", err)
		}
		if _, err := p.Infer(t.Context(), gateRequest(1), nil); err != nil {
			t.Fatal(err)
		}
		if n := srv.Stats().Calls["ModelStreamInfer"]; n != 1 {
			t.Errorf("%d streams, want 1: the refused request is never sent", n)
		}
	})
}

func TestPipelineClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		open := make(chan struct{})
		_, p := startPipeline(t, gated(open), oip.PipelineOptions{Streams: 2})
		waiting := make(chan error, 1)
		go func() {
			_, err := p.Infer(t.Context(), gateRequest(1), nil)
			waiting <- err
		}()
		synctest.Wait()
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-waiting; status.Code(err) != codes.Canceled {
			t.Errorf("a request waiting at Close: %v, want CANCELED", err)
		}
		if _, err := p.Infer(t.Context(), gateRequest(2), nil); status.Code(err) != codes.Canceled {
			t.Errorf("a request after Close: %v, want CANCELED", err)
		}
		close(open)
	})
}
