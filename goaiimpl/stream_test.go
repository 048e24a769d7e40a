package goaiimpl

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startTokens serves model "contents" as a decoupled model: an item whose
// x holds n values is answered by n items, the k-th of x = [k]. canceled
// counts the requests whose context ended before their last response.
func startTokens(t *testing.T, desc *goai.ModelDesc, canceled *atomic.Int32) (*inferencetest.Server, *goai.Client) {
	t.Helper()
	srv := inferencetest.New()
	specs := []inferencetest.TensorSpec{
		{Name: "x", DType: tensor.FP32, Shape: []int64{-1}},
		{Name: "ids", DType: tensor.Int8, Shape: []int64{2}},
		{Name: "words", DType: tensor.Bytes, Shape: []int64{-1}},
		{Name: "flag", DType: tensor.Bool, Shape: []int64{1}},
	}
	serve := func(ctx context.Context, in *oippb.InferTensorContents, send func(*oippb.InferTensorContents) error) error {
		for k := range in.GetFp32Contents() {
			if err := send(item([]float32{float32(k)}, []int32{1, 2}, "w")); err != nil {
				if ctx.Err() != nil {
					canceled.Add(1)
				}
				return err
			}
		}
		return nil
	}
	err := srv.Register(inferencetest.Model{
		Name: "contents", MaxBatchSize: desc.MaxBatchSize, Inputs: specs, Outputs: specs,
		Stream: func(ctx context.Context, req *inferencetest.Request, send func([]tensor.Tensor, bool) error) error {
			return ServeFakeStream(ctx, desc, &desc.Methods[0], req.Inputs, req.BatchSize, decodeContents, encodeContents, serve, send)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := NewClient(srv.Target(), desc, goai.WithDialOptions(srv.DialOptions()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, c
}

func TestGenerate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		desc := contentsDesc(0)
		var canceled atomic.Int32
		srv, c := startTokens(t, desc, &canceled)
		m := &desc.Methods[0]
		var got []float32
		var info goai.CallInfo
		for out, err := range Generate(t.Context(), c, m, item(make([]float32, 5), []int32{1, 2}), encodeContents, decodeContents, goai.Report(&info)) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, out.GetFp32Contents()...)
		}
		if !slices.Equal(got, []float32{0, 1, 2, 3, 4}) || info.Responses != 5 {
			t.Errorf("responses %v (report %+v), want 0..4", got, info)
		}

		// A failure after 2 responses ends the sequence with a typed error.
		srv.Script(inferencetest.FailAfter(2, codes.Internal))
		got = got[:0]
		var last error
		for out, err := range Generate(t.Context(), c, m, item(make([]float32, 5), []int32{1, 2}), encodeContents, decodeContents) {
			if err != nil {
				last = err
				continue
			}
			got = append(got, out.GetFp32Contents()...)
		}
		var re *goai.ResponseError
		if !errors.As(last, &re) || len(got) != 2 {
			t.Errorf("after %v: %v (%T), want a *goai.ResponseError after 2 responses", got, last, last)
		}

		// Breaking out cancels the request on the server.
		synctest.Wait()
		canceled.Store(0)
		n := 0
		for _, err := range Generate(t.Context(), c, m, item(make([]float32, 1000), []int32{1, 2}), encodeContents, decodeContents) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 3 {
				break
			}
		}
		synctest.Wait()
		if n := canceled.Load(); n != 1 {
			t.Errorf("the model saw %d cancellations after the loop broke, want 1", n)
		}

		// Data that does not fit its tensor fails before anything is sent.
		before := len(srv.Requests())
		for _, err := range Generate(t.Context(), c, m, item(nil, []int32{1, 2, 3}), encodeContents, decodeContents) {
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("a bad request: %v, want INVALID_ARGUMENT", err)
			}
		}
		if len(srv.Requests()) != before {
			t.Error("a bad request was sent")
		}
	})
}
