package generator

import (
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
)

func TestUnexport(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Model", "model"},
		{"ImageClassifier", "imageClassifier"},
		{"HTTPServer", "httpServer"},
		{"ID", "id"},
		{"URLParser2", "urlParser2"},
		{"A", "a"},
		{"X1", "x1"},
		{"BERT", "bert"},
		{"already", "already"},
		{"Élan", "élan"},
		{"Type", "type_"},
		{"Func", "func_"},
		{"Go", "go_"},
		{"Map", "map_"},
		{"Select", "select_"},
		{"Range", "range_"},
		{"Default", "default_"},
		{"Package", "package_"},
	}
	for _, tt := range tests {
		if got := unexport(tt.in); got != tt.want {
			t.Errorf("unexport(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewNames(t *testing.T) {
	for _, tt := range []struct {
		service string
		want    names
	}{
		{"ImageClassifier", names{
			Model:             "ImageClassifierModel",
			Client:            "ImageClassifierModelClient",
			NewClient:         "NewImageClassifierModelClient",
			NewClientFromConn: "NewImageClassifierModelClientFromConn",
			Fake:              "ImageClassifierFake",
			FakeFunc:          "ImageClassifierFakeFunc",
			RegisterFake:      "RegisterImageClassifierFake",
		}},
		{"LLMRouter", names{
			Model:             "LLMRouterModel",
			Client:            "LLMRouterModelClient",
			NewClient:         "NewLLMRouterModelClient",
			NewClientFromConn: "NewLLMRouterModelClientFromConn",
			Fake:              "LLMRouterFake",
			FakeFunc:          "LLMRouterFakeFunc",
			RegisterFake:      "RegisterLLMRouterFake",
		}},
	} {
		got := newNames(&protogen.Service{GoName: tt.service})
		if got != tt.want {
			t.Errorf("newNames(%s) = %+v, want %+v", tt.service, got, tt.want)
		}
	}
}

func TestTensorsIdent(t *testing.T) {
	m := &protogen.Message{GoIdent: protogen.GoIdent{GoName: "Outer_Inner", GoImportPath: "example.com/x"}}
	want := protogen.GoIdent{GoName: "Outer_InnerTensors", GoImportPath: "example.com/x"}
	if got := tensorsIdent(m); got != want {
		t.Errorf("tensorsIdent = %v, want %v", got, want)
	}
}

func TestMethodNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{batchMethod("Classify"), "ClassifyBatch"},
		{batcherMethod("Classify"), "NewClassifyBatcher"},
		{checkMethod("PushParams"), "checkPushParams"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}
