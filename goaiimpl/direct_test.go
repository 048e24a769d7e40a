package goaiimpl

import (
	"context"
	"errors"
	"github.com/goai-dev/goai"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCheckTensorLength(t *testing.T) {
	for _, tt := range []struct {
		shape []int64
		n     int
		ok    bool
	}{
		{nil, 0, true},
		{nil, 5, true},
		{[]int64{4}, 4, true},
		{[]int64{4}, 3, false},
		{[]int64{4}, 0, false},
		{[]int64{-1}, 7, true},
		{[]int64{-1, 4}, 8, true},
		{[]int64{-1, 4}, 0, true},
		{[]int64{-1, 4}, 6, false},
		{[]int64{2, -1, 3}, 12, true},
		{[]int64{2, -1, 3}, 7, false},
		{[]int64{1, 1}, 1, true},
		{[]int64{-1, -1}, 4, false}, // not a shape the generator writes
		{[]int64{0}, 0, false},
	} {
		desc := &goai.TensorDesc{Name: "x", DType: tensor.FP32, Shape: tt.shape}
		err := CheckTensorLength(desc, tt.n)
		if tt.ok {
			if err != nil {
				t.Errorf("CheckTensorLength(%v, %d) = %v, want nil", tt.shape, tt.n, err)
			}
			continue
		}
		var te *goai.TensorError
		if !errors.As(err, &te) || te.Tensor != "x" || te.Item != -1 || te.Output ||
			status.Code(err) != codes.InvalidArgument || !errors.Is(err, tensor.ErrShape) {
			t.Errorf("CheckTensorLength(%v, %d) = %v, want an INVALID_ARGUMENT TensorError matching ErrShape", tt.shape, tt.n, err)
		}
	}

	desc := &goai.TensorDesc{Name: "x", DType: tensor.FP32, Shape: []int64{-1, 3, 224, 224}}
	if n := testing.AllocsPerRun(100, func() { _ = CheckTensorLength(desc, 2*3*224*224) }); n != 0 {
		t.Errorf("CheckTensorLength allocates %v times for a length that fits", n)
	}
}

func TestCheckRawTensorLength(t *testing.T) {
	fp16 := &goai.TensorDesc{Name: "scales", DType: tensor.FP16, Shape: []int64{4}}
	for _, tt := range []struct {
		desc *goai.TensorDesc
		size int
		want error // nil: fits
	}{
		{fp16, 8, nil},
		{fp16, 7, tensor.ErrLength},
		{fp16, 6, tensor.ErrShape},
		{&goai.TensorDesc{Name: "raw", DType: tensor.Int8}, 5, nil},
		{&goai.TensorDesc{Name: "text", DType: tensor.Bytes}, 4, tensor.ErrDType},
	} {
		err := CheckRawTensorLength(tt.desc, tt.size)
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s, %d bytes: %v", tt.desc.Name, tt.size, err)
			}
			continue
		}
		if !errors.Is(err, tt.want) || status.Code(err) != codes.InvalidArgument {
			t.Errorf("%s, %d bytes: %v, want INVALID_ARGUMENT matching %v", tt.desc.Name, tt.size, err, tt.want)
		}
	}
}

// TestCallDirectChecksFirst checks that CallDirect refuses a nil request
// and one that check refuses without calling, and that it returns the
// rpc's answer or its error unchanged.
func TestCallDirectChecksFirst(t *testing.T) {
	desc := &goai.ModelDesc{Service: "test.v1.Store", Protocol: goai.ProtocolDirect, Methods: []goai.MethodDesc{{Name: "Put", FullMethod: "/test.v1.Store/Put"}}}
	c := NewClientFromConn(nil, desc)
	m := &desc.Methods[0]
	calls := 0
	answer := &oippb.ServerLiveResponse{Live: true}
	var rpcErr error
	rpc := func(_ context.Context, in *oippb.ServerLiveRequest, opts ...grpc.CallOption) (*oippb.ServerLiveResponse, error) {
		calls++
		for _, o := range opts {
			if _, ok := o.(grpc.TrailerCallOption); !ok {
				t.Errorf("call option %T, want only the runtime's trailer capture", o)
			}
		}
		return answer, rpcErr
	}
	refuse := errors.New("refused")
	check := func(*oippb.ServerLiveRequest) error { return refuse }

	if _, err := CallDirect(t.Context(), c, m, nil, check, rpc); status.Code(err) != codes.InvalidArgument {
		t.Errorf("nil request: %v, want InvalidArgument", err)
	}
	if _, err := CallDirect(t.Context(), c, m, &oippb.ServerLiveRequest{}, check, rpc); err != refuse {
		t.Errorf("refused request: %v, want check's error unchanged", err)
	}
	if calls != 0 {
		t.Fatalf("%d calls of refused requests", calls)
	}
	out, err := CallDirect(t.Context(), c, m, &oippb.ServerLiveRequest{}, nil, rpc)
	if err != nil || out != answer || calls != 1 {
		t.Errorf("CallDirect = %v, %v after %d calls; want the rpc's answer after 1", out, err, calls)
	}
	rpcErr = status.Error(codes.Unavailable, "down")
	if _, err := CallDirect(t.Context(), c, m, &oippb.ServerLiveRequest{}, nil, rpc); status.Code(err) != codes.Unavailable || calls != 2 {
		t.Errorf("CallDirect = %v after %d calls; want UNAVAILABLE after 2: not idempotent, not retried", err, calls)
	}
}
