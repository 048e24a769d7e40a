package inferencetest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"google.golang.org/grpc/codes"
)

func TestRecordsRequests(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithRecordLimit(3))
	srv.Script(inferencetest.Fail(codes.Unavailable))
	for i := range 5 {
		_ = infer(c, ctxT(t), fmt.Sprint(i))
	}
	_ = infer(c, ctxT(t), "x") // unknown model below
	req := rawFP32("nope", "IN", []int64{1, 1}, 1)
	_, err := c.ModelInfer(ctxT(t), req)
	wantCode(t, err, codes.NotFound)

	var ids []string
	for _, r := range srv.Requests() {
		ids = append(ids, r.Model+"/"+r.ID)
	}
	if want := []string{"double/4", "double/x", "nope/"}; !slices.Equal(ids, want) {
		t.Errorf("recorded %v, want the last three: %v", ids, want)
	}
	st := srv.Stats()
	if st.Dropped != 4 || st.Calls["ModelInfer"] != 7 {
		t.Errorf("dropped %d, calls %v", st.Dropped, st.Calls)
	}
	d := st.Models["double"]
	if d.Calls != 6 || d.Codes[codes.OK] != 5 || d.Codes[codes.Unavailable] != 1 || d.Injected != 1 {
		t.Errorf("double: %+v", d)
	}
	if n := st.Models["nope"]; n.Calls != 1 || n.Codes[codes.NotFound] != 1 || n.Injected != 0 {
		t.Errorf("nope: %+v", n)
	}

	// Snapshots are copies.
	st.Models["double"].Codes[codes.OK] = 99
	if srv.Stats().Models["double"].Codes[codes.OK] != 5 {
		t.Error("Stats shares its maps with the server")
	}

	srv.ResetRecords()
	if st := srv.Stats(); len(srv.Requests()) != 0 || len(st.Models) != 0 || len(st.Calls) != 0 || st.Dropped != 0 {
		t.Errorf("after ResetRecords: %+v", st)
	}
	_ = infer(c, ctxT(t), "after")
	if r := srv.Requests(); len(r) != 1 || r[0].ID != "after" {
		t.Errorf("after reset recorded %v", r)
	}
}

func TestRecordLimitZero(t *testing.T) {
	srv, c := start(t, false, []inferencetest.Model{doubler()}, inferencetest.WithRecordLimit(0))
	for range 3 {
		if err := infer(c, ctxT(t), ""); err != nil {
			t.Fatal(err)
		}
	}
	if st := srv.Stats(); len(srv.Requests()) != 0 || st.Dropped != 3 || st.Models["double"].Calls != 3 {
		t.Errorf("kept %d requests, stats %+v", len(srv.Requests()), st)
	}
}
