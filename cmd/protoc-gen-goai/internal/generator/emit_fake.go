package generator

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// generateFake writes the fake of an inference service, into g, the
// file of the fake package beside parent, the service's own: the interface
// a Go implementation of its models satisfies, a function type satisfying
// it when the service calls one model, and the function that registers an
// implementation on an inferencetest.Server.
func generateFake(g *protogen.GeneratedFile, sm *serviceModel, parent protogen.GoImportPath) {
	n := sm.names
	model := g.QualifiedGoIdent(parent.Ident(n.Model))
	client := g.QualifiedGoIdent(parent.Ident(n.Client))
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))
	srv := g.QualifiedGoIdent(inferencetestPackage.Ident("Server"))

	g.AnnotateSymbol(n.Fake, protogen.Annotation{Location: sm.service.Location})
	wrapComment(g, n.Fake+" is the model behind "+sm.desc.service+" written in Go, for tests: "+
		n.RegisterFake+" serves it on an ["+srv+"], where ["+client+"] calls it as it would call a model server. "+
		"It has one method per model that the service's rpcs call, named for the first of them; "+
		"each call of a method serves one item of a request.")
	g.P("type ", n.Fake, " interface {")
	for _, fm := range sm.fakes {
		m := fm.method.method
		g.P("// ", m.GoName, " serves ", modelPhrase(fm.method.model), " for ", rpcList(fm.rpcs), ".")
		if fm.method.stream {
			wrapComment(g, "The model is decoupled: each call of send is one response, which fails once the request "+
				"is canceled or its stream has ended; an error returned fails the request after the responses sent.")
		}
		g.P(m.GoName, fakeSignature(g, fm.method))
	}
	g.P("}")
	g.P()

	if len(sm.fakes) == 1 {
		fm := sm.fakes[0].method
		m := fm.method
		g.P("// ", n.FakeFunc, " implements ", n.Fake, " with a function.")
		g.P("type ", n.FakeFunc, " func", fakeSignature(g, fm))
		g.P()
		if fm.stream {
			g.P("// ", m.GoName, " returns f(ctx, in, send).")
			g.P("func (f ", n.FakeFunc, ") ", m.GoName, fakeSignature(g, fm), " {")
			g.P("return f(ctx, in, send)")
		} else {
			g.P("// ", m.GoName, " returns f(ctx, in).")
			g.P("func (f ", n.FakeFunc, ") ", m.GoName, fakeSignature(g, fm), " {")
			g.P("return f(ctx, in)")
		}
		g.P("}")
		g.P()
	}

	served := make([]string, len(sm.registrations))
	for i, r := range sm.registrations {
		served[i] = registrationPhrase(r)
	}
	wrapComment(g, n.RegisterFake+" registers impl on srv as the models that "+sm.desc.service+
		" calls, with the tensors that ["+model+"] declares: "+strings.Join(served, "; ")+
		". Each replaces a model registered before under its name.")
	g.P("func ", n.RegisterFake, "(srv *", srv, ", impl ", n.Fake, ") error {")
	// Several registrations declare the tensors of each message once.
	specs := map[*messageModel]string{}
	if len(sm.registrations) > 1 {
		taken := map[string]bool{"srv": true, "impl": true, "err": true}
		for _, r := range sm.registrations {
			for _, mm := range []*messageModel{r.inputs, r.outputs} {
				if _, ok := specs[mm]; ok {
					continue
				}
				name := unexport(mm.message.GoIdent.GoName) + "Specs"
				for i := 2; taken[name]; i++ {
					name = unexport(mm.message.GoIdent.GoName) + "Specs" + strconv.Itoa(i)
				}
				taken[name] = true
				specs[mm] = name
				g.P(name, " := ", tensorSpecs(g, mm))
			}
		}
	}
	spec := func(mm *messageModel) string {
		if name, ok := specs[mm]; ok {
			return name
		}
		return tensorSpecs(g, mm)
	}
	for i, r := range sm.registrations {
		last := i == len(sm.registrations)-1
		if last {
			g.P("return srv.Register(", inferencetestPackage.Ident("Model"), "{")
		} else {
			g.P("if err := srv.Register(", inferencetestPackage.Ident("Model"), "{")
		}
		mm := r.serve.method
		g.P("Name: ", strconv.Quote(r.model), ",")
		if len(r.versions) > 0 {
			quoted := make([]string, len(r.versions))
			for i, v := range r.versions {
				quoted[i] = strconv.Quote(v)
			}
			g.P("Versions: []string{", strings.Join(quoted, ", "), "},")
		}
		if sm.desc.maxBatchSize > 0 {
			g.P("MaxBatchSize: ", sm.desc.maxBatchSize, ",")
		}
		if r.signature != "" {
			g.P("Signature: ", strconv.Quote(r.signature), ",")
		}
		if r.label != "" {
			g.P("VersionLabels: map[string]string{", strconv.Quote(r.label), ": ", strconv.Quote(r.labeled), "},")
		}
		g.P("Inputs: ", spec(r.inputs), ",")
		g.P("Outputs: ", spec(r.outputs), ",")
		if mm.stream {
			g.P("Stream: func(ctx ", ctx, ", req *", inferencetestPackage.Ident("Request"), ", send func([]", tensorPackage.Ident("Tensor"), ", bool) error) error {")
			g.P("return ", goaiimplPackage.Ident("ServeFakeStream"), "(ctx, ", model, ", &", model, ".Methods[", mm.index, "], req.Inputs, req.BatchSize, ",
				mm.fakeDecode, ", ", mm.fakeEncode, ", impl.", mm.method.GoName, ", send)")
		} else {
			g.P("Infer: func(ctx ", ctx, ", req *", inferencetestPackage.Ident("Request"), ") ([]", tensorPackage.Ident("Tensor"), ", error) {")
			g.P("return ", goaiimplPackage.Ident("ServeFake"), "(ctx, ", model, ", &", model, ".Methods[", mm.index, "], req.Inputs, req.BatchSize, ",
				mm.fakeDecode, ", ", mm.fakeEncode, ", impl.", mm.method.GoName, ")")
		}
		g.P("},")
		if last {
			g.P("})")
		} else {
			g.P("}); err != nil {")
			g.P("return err")
			g.P("}")
		}
	}
	g.P("}")
	g.P()
}

// fakeSignature returns the parameters and results of the fake's method
// serving mm's model: one response, or, for a decoupled model, a function
// sending each of them.
func fakeSignature(g *protogen.GeneratedFile, mm *methodModel) string {
	m := mm.method
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))
	in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
	if mm.stream {
		return "(ctx " + ctx + ", in *" + in + ", send func(*" + out + ") error) error"
	}
	return "(ctx " + ctx + ", in *" + in + ") (*" + out + ", error)"
}

// registrationPhrase says in prose what r registers: "resnet50" version
// "3", served by impl.Classify.
func registrationPhrase(r *registration) string {
	var b strings.Builder
	if r.fallback {
		b.WriteString("the fallback ")
	}
	b.WriteString(strconv.Quote(r.model))
	// Versions are quoted, like the model's name: any string may be one.
	quoted := make([]string, len(r.versions))
	for i, v := range r.versions {
		quoted[i] = strconv.Quote(v)
	}
	switch len(quoted) {
	case 0:
	case 1:
		b.WriteString(" version " + quoted[0])
	default:
		b.WriteString(" versions " + strings.Join(quoted, ", "))
	}
	if r.label != "" {
		b.WriteString(" (label " + strconv.Quote(r.label) + " naming version " + strconv.Quote(r.labeled) + ")")
	}
	if r.signature != "" {
		b.WriteString(" with signature " + strconv.Quote(r.signature))
	}
	b.WriteString(", served by impl." + r.serve.method.method.GoName)
	return b.String()
}

// tensorSpecs returns the []inferencetest.TensorSpec literal of the tensors
// of mm.
func tensorSpecs(g *protogen.GeneratedFile, mm *messageModel) string {
	specs := make([]string, len(mm.tensors))
	for i, t := range mm.tensors {
		var l literal
		l.add("Name", strconv.Quote(t.name))
		l.add("DType", g.QualifiedGoIdent(tensorPackage.Ident(dtypeNames[t.dtype])))
		if t.shape != nil {
			l.add("Shape", int64s(t.shape))
		}
		specs[i] = l.inline("")
	}
	return block("[]"+g.QualifiedGoIdent(inferencetestPackage.Ident("TensorSpec")), specs)
}

// rpcList names rpcs in prose: "rpc Classify", "rpcs Classify and ClassifyOffline".
func rpcList(rpcs []*methodModel) string {
	names := make([]string, len(rpcs))
	for i, mm := range rpcs {
		names[i] = string(mm.method.Desc.Name())
	}
	switch len(names) {
	case 1:
		return "rpc " + names[0]
	case 2:
		return "rpcs " + names[0] + " and " + names[1]
	}
	return "rpcs " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
