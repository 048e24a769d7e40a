package generator

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
)

// generateClient writes the typed client of an OPEN_INFERENCE service: the
// type, its constructors, one method per rpc (and per batch call), and
// CheckModel, Caller and Close.
func generateClient(g *protogen.GeneratedFile, sm *serviceModel) {
	n, desc := sm.names, sm.desc
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))

	g.AnnotateSymbol(n.Client, protogen.Annotation{Location: sm.service.Location})
	wrapComment(g, n.Client+" calls the models of "+desc.service+" through ModelInfer of the Open Inference Protocol "+
		"(KServe v2, Triton), with the tensors and call policies that "+n.Model+" declares. It is safe for concurrent use.")
	g.P("type ", n.Client, " struct {")
	g.P("caller *", rt("Caller"))
	g.P("pool   *", rt("Pool"), " // dialed by ", n.NewClient, ", closed by Close; nil otherwise")
	g.P("}")
	g.P()

	generateDialConstructor(g, n, "model server", "dns:///triton:8001")

	wrapComment(g, n.NewClientFromConn+" returns a client calling through cc, such as a ["+rt("Pool")+
		"] or a *grpc.ClientConn, which stays the caller's: Close leaves it open. opts configure the client's ["+rt("Caller")+"].")
	g.P("func ", n.NewClientFromConn, "(cc ", grpcPackage.Ident("ClientConnInterface"), ", opts ...", rt("Option"), ") *", n.Client, " {")
	g.P("return &", n.Client, "{caller: ", rt("NewCaller"), "(cc, ", n.Model, ", opts...)}")
	g.P("}")
	g.P()

	for _, mm := range sm.methods {
		generateClientMethod(g, sm, mm, ctx)
	}
	if desc.maxBatchSize > 0 {
		for _, mm := range sm.methods {
			generateBatchMethod(g, sm, mm, ctx)
		}
		for _, mm := range sm.methods {
			generateBatcherMethod(g, sm, mm)
		}
	}

	wrapComment(g, "CheckModel compares the tensors that "+n.Model+" declares with the metadata the server reports "+
		"for every model the client calls, and returns a [*"+rt("ContractError")+"] listing every difference; see ["+rt("CheckModel")+"].")
	g.P("func (c *", n.Client, ") CheckModel(ctx ", ctx, ") error {")
	g.P("return ", rt("CheckModel"), "(ctx, c.caller.Conn(), ", n.Model, ")")
	g.P("}")
	g.P()

	generateCallerAndClose(g, n, "to route calls between model versions or read the state of a model's breaker")
}

// generateDialConstructor writes n.NewClient, which dials connections to
// a server of the given kind, owns them, and builds the client on them
// with n.NewClientFromConn. Both kinds of client share it.
func generateDialConstructor(g *protogen.GeneratedFile, n names, server, exampleTarget string) {
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	wrapComment(g, n.NewClient+" returns a client of the "+server+" at target, such as \""+exampleTarget+"\", "+
		"over connections it dials with ["+rt("Dial")+"] and owns: Close closes them. "+
		"opts configure both the connections and the client's ["+rt("Caller")+"]; a transport security option is required.")
	g.P("func ", n.NewClient, "(target string, opts ...", rt("Option"), ") (*", n.Client, ", error) {")
	g.P("pool, err := ", rt("Dial"), "(target, opts...)")
	g.P("if err != nil {")
	g.P("return nil, err")
	g.P("}")
	g.P("c := ", n.NewClientFromConn, "(pool, opts...)")
	g.P("c.pool = pool")
	g.P("return c, nil")
	g.P("}")
	g.P()
}

// generateCallerAndClose writes the Caller and Close methods both kinds of
// client have; callerUse says what the Caller is for.
func generateCallerAndClose(g *protogen.GeneratedFile, n names, callerUse string) {
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	wrapComment(g, "Caller returns the client's ["+rt("Caller")+"], "+callerUse+".")
	g.P("func (c *", n.Client, ") Caller() *", rt("Caller"), " {")
	g.P("return c.caller")
	g.P("}")
	g.P()

	wrapComment(g, "Close closes the connections that "+n.NewClient+" dialed, ending their calls. "+
		"It does nothing for a client made with "+n.NewClientFromConn+".")
	g.P("func (c *", n.Client, ") Close() error {")
	g.P("if c.pool == nil {")
	g.P("return nil")
	g.P("}")
	g.P("return c.pool.Close()")
	g.P("}")
	g.P()
}

func generateClientMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	call := fmt.Sprintf("makes one ModelInfer call of %s with in, under the policy of %s.Methods[%d]; opts change the policy for this call.",
		modelPhrase(mm.model), sm.names.Model, mm.index)
	generateMethodDoc(g, m, call)
	g.AnnotateSymbol(sm.names.Client+"."+m.GoName, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", m.GoName, "(ctx ", ctx, ", in *", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") (*", m.Output.GoIdent, ", error) {")
	g.P("return ", goaiPackage.Ident("Infer"), "(ctx, c.caller, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

func generateBatchMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	name := batchMethod(m.GoName)
	wrapComment(g, name+" is "+m.GoName+" for many "+m.Input.GoIdent.GoName+" messages: it stacks them along the batch dimension "+
		"into as few ModelInfer calls as the model's batch limits allow, each under the policy of "+m.GoName+
		", runs them in parallel, and returns the results in the order of in. Data that does not fit its tensor "+
		"fails the whole batch before any call; an empty in makes none. See ["+g.QualifiedGoIdent(goaiPackage.Ident("InferBatch"))+"].")
	if deprecated(m) {
		g.P("//")
		g.P(deprecationComment)
	}
	g.AnnotateSymbol(sm.names.Client+"."+name, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", name, "(ctx ", ctx, ", in []*", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") ([]*", m.Output.GoIdent, ", error) {")
	g.P("return ", goaiPackage.Ident("InferBatch"), "(ctx, c.caller, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

func generateBatcherMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel) {
	m := mm.method
	name := batcherMethod(m.GoName)
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	wrapComment(g, name+" returns a micro-batcher of "+m.GoName+" calls: concurrent calls of its Do that arrive within "+
		"the batching delay go as one ModelInfer call under the policy of "+m.GoName+", stacked along the batch dimension, "+
		"and each caller gets its own result. A batch holds at most the batching policy's size and bytes, and only items "+
		"that agree in every dynamic dimension. The policy is "+sm.names.Model+".Batching; opts override it field by field "+
		"(["+rt("WithBatcherPolicy")+"]), set the options of each batch's call (["+rt("WithBatcherCallOptions")+"]) or "+
		"configure the batcher. Close the batcher before the client. See ["+rt("InferBatcher")+"].")
	if deprecated(m) {
		g.P("//")
		g.P(deprecationComment)
	}
	g.AnnotateSymbol(sm.names.Client+"."+name, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", name, "(opts ...", goaiPackage.Ident("MicroBatchOption"), ") *",
		goaiPackage.Ident("InferBatcher"), "[*", m.Input.GoIdent, ", *", m.Output.GoIdent, "] {")
	g.P("return ", goaiPackage.Ident("NewInferBatcher"), "(c.caller, &", sm.names.Model, ".Methods[", mm.index, "], ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

// deprecationComment marks what a deprecated rpc generates, as
// protoc-gen-go-grpc does.
const deprecationComment = "// Deprecated: Do not use."

func deprecated(m *protogen.Method) bool {
	opts, _ := m.Desc.Options().(*descriptorpb.MethodOptions)
	return opts.GetDeprecated()
}

// generateMethodDoc writes the doc comment of a method generated for rpc m:
// the rpc's own leading comments, if any, then what the method does, a
// sentence that starts with the method's name when the rpc has no comments
// and with "It" after them.
func generateMethodDoc(g *protogen.GeneratedFile, m *protogen.Method, does string) {
	if leading := strings.TrimSuffix(m.Comments.Leading.String(), "\n"); leading != "" {
		// The comment goes into Go source as it is, which Go rejects
		// when it holds invalid UTF-8 or a byte order mark.
		g.P(strings.ReplaceAll(strings.ToValidUTF8(leading, "\uFFFD"), "\uFEFF", ""))
		g.P("//")
		wrapComment(g, "It "+does)
	} else {
		wrapComment(g, m.GoName+" "+does)
	}
	if deprecated(m) {
		g.P("//")
		g.P(deprecationComment)
	}
}

// wrapComment writes text as // comment lines of at most about 80 columns.
func wrapComment(g *protogen.GeneratedFile, text string) {
	var line strings.Builder
	for _, word := range strings.Fields(text) {
		if line.Len() > 0 && line.Len()+1+len(word) > 77 {
			g.P("// ", line.String())
			line.Reset()
		}
		if line.Len() > 0 {
			line.WriteByte(' ')
		}
		line.WriteString(word)
	}
	if line.Len() > 0 {
		g.P("// ", line.String())
	}
}

// modelPhrase names a model in prose: model "resnet50" version "3".
func modelPhrase(ref modelRef) string {
	if ref.version == "" {
		return fmt.Sprintf("model %q", ref.name)
	}
	return fmt.Sprintf("model %q version %q", ref.name, ref.version)
}
