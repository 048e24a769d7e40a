package generator

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
)

// generateClient writes the typed client of an inference service: the
// type, its constructors, one method per rpc (and per batch call and
// micro-batcher), and the methods every client forwards to its
// goai.Client.
func generateClient(g *protogen.GeneratedFile, sm *serviceModel) {
	n, desc := sm.names, sm.desc
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))

	g.AnnotateSymbol(n.Client, protogen.Annotation{Location: sm.service.Location})
	through, server, target := "ModelInfer of the Open Inference Protocol (KServe v2, Triton)", "model server", `"dns:///triton:8001"`
	if desc.protocol == protocolTFServing {
		through, server, target = "Predict of TensorFlow Serving's gRPC API", "TF Serving", `"dns:///tfserving:8500"`
	}
	switch n := len(sm.methods) - len(sm.batched()); {
	case n == len(sm.methods):
		through = "ModelStreamInfer of the Open Inference Protocol (Triton), which streams the responses of decoupled models"
	case n > 0:
		through += ", and ModelStreamInfer for its decoupled models"
	}
	wrapComment(g, n.Client+" calls the models of "+desc.service+" through "+through+
		", with the tensors and call policies that "+n.Model+" declares. It is safe for concurrent use.")
	g.P("type ", n.Client, " struct {")
	g.P("client *", goaiPackage.Ident("Client"))
	g.P("}")
	g.P()

	generateConstructors(g, n, server, target, "")

	for _, mm := range sm.methods {
		if mm.stream {
			generateStreamMethod(g, sm, mm, ctx)
		} else {
			generateClientMethod(g, sm, mm, ctx)
		}
	}
	if desc.maxBatchSize > 0 {
		for _, mm := range sm.batched() {
			generateBatchMethod(g, sm, mm, ctx)
		}
		for _, mm := range sm.batched() {
			generateBatcherMethod(g, sm, mm)
		}
	}

	generateClientForwards(g, n, true)
}

// generateConstructors writes n.NewClient, which dials connections to a
// server of the given kind, at targets such as example, and owns them,
// and n.NewClientFromConn, which
// calls through a connection of the caller's; stub, when not empty, is a
// field assignment of the protoc-gen-go-grpc stub that the client's
// methods call, made from the client's connection. Both kinds of client
// share them.
func generateConstructors(g *protogen.GeneratedFile, n names, server, example, stub string) {
	ident := func(p protogen.GoImportPath, name string) string { return g.QualifiedGoIdent(p.Ident(name)) }
	wrapComment(g, n.NewClient+" returns a client of the "+server+" at target, such as "+example+", "+
		"over connections it dials and owns: Close closes them. opts configure the connections (["+ident(goaiPackage, "PoolOption")+
		"]s; a transport security option is required) and the client's call policies (["+ident(goaiPackage, "ClientOption")+"]s).")
	g.P("func ", n.NewClient, "(target string, opts ...", goaiPackage.Ident("Option"), ") (*", n.Client, ", error) {")
	g.P("client, err := ", goaiimplPackage.Ident("NewClient"), "(target, ", n.Model, ", opts...)")
	g.P("if err != nil {")
	g.P("return nil, err")
	g.P("}")
	if stub != "" {
		g.P("return &", n.Client, "{client: client, ", stub, "}, nil")
	} else {
		g.P("return &", n.Client, "{client: client}, nil")
	}
	g.P("}")
	g.P()

	wrapComment(g, n.NewClientFromConn+" returns a client calling through cc, such as a ["+ident(goaiPackage, "Pool")+
		"] or a *grpc.ClientConn, which stays the caller's: Close leaves it open. opts configure the client's call policies; "+
		"its calls carry their own message size limits (["+ident(goaiPackage, "DefaultMaxMsgSize")+"], or ["+ident(goaiPackage, "WithMaxRecvMsgSize")+
		"]'s), whatever cc was dialed with.")
	g.P("func ", n.NewClientFromConn, "(cc ", grpcPackage.Ident("ClientConnInterface"), ", opts ...", goaiPackage.Ident("ClientOption"), ") *", n.Client, " {")
	g.P("client := ", goaiimplPackage.Ident("NewClientFromConn"), "(cc, ", n.Model, ", opts...)")
	if stub != "" {
		g.P("return &", n.Client, "{client: client, ", stub, "}")
	} else {
		g.P("return &", n.Client, "{client: client}")
	}
	g.P("}")
	g.P()
}

// generateClientForwards writes the methods a typed client forwards to
// its goai.Client: CheckModel, Ready and Live for a model protocol
// (contract), routing, breaker state, the model and Close.
func generateClientForwards(g *protogen.GeneratedFile, n names, contract bool) {
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))
	ident := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	if contract {
		wrapComment(g, "CheckModel compares the tensors that "+n.Model+" declares with the metadata the server reports "+
			"for every model the client calls, the fallback included, and returns a [*"+ident("ContractError")+
			"] listing every difference; see ["+ident("Client")+".CheckModel].")
		g.P("func (c *", n.Client, ") CheckModel(ctx ", ctx, ") error {")
		g.P("return c.client.CheckModel(ctx)")
		g.P("}")
		g.P()

		wrapComment(g, "Ready returns nil when the model server and every model the client calls (the fallback aside) "+
			"are ready, and an error matching ["+ident("ErrNotReady")+"] otherwise: what a Kubernetes readiness probe "+
			"wants; see ["+ident("Client")+".Ready].")
		g.P("func (c *", n.Client, ") Ready(ctx ", ctx, ") error {")
		g.P("return c.client.Ready(ctx)")
		g.P("}")
		g.P()

		wrapComment(g, "Live returns nil when the model server is live, and an error matching ["+ident("ErrNotLive")+
			"] otherwise: what a Kubernetes liveness probe wants; see ["+ident("Client")+".Live].")
		g.P("func (c *", n.Client, ") Live(ctx ", ctx, ") error {")
		g.P("return c.client.Live(ctx)")
		g.P("}")
		g.P()
	}

	wrapComment(g, "SetRoutes splits the calls of the service's model between its versions by weight; see ["+ident("Client")+".SetRoutes].")
	g.P("func (c *", n.Client, ") SetRoutes(routes []", goaiPackage.Ident("Route"), ") error {")
	g.P("return c.client.SetRoutes(routes)")
	g.P("}")
	g.P()

	wrapComment(g, "Routes returns the routes SetRoutes set, nil for none.")
	g.P("func (c *", n.Client, ") Routes() []", goaiPackage.Ident("Route"), " {")
	g.P("return c.client.Routes()")
	g.P("}")
	g.P()

	wrapComment(g, "BreakerState returns the state of the circuit breaker of model m, a model the client calls; see ["+ident("Client")+".BreakerState].")
	g.P("func (c *", n.Client, ") BreakerState(m ", goaiPackage.Ident("ModelRef"), ") ", goaiPackage.Ident("BreakerState"), " {")
	g.P("return c.client.BreakerState(m)")
	g.P("}")
	g.P()

	wrapComment(g, "Model returns the model the service calls, as annotated.")
	g.P("func (c *", n.Client, ") Model() ", goaiPackage.Ident("ModelRef"), " {")
	g.P("return c.client.Model()")
	g.P("}")
	g.P()

	wrapComment(g, "Close closes the connections that "+n.NewClient+" dialed, ending their calls. "+
		"It does nothing for a client made with "+n.NewClientFromConn+".")
	g.P("func (c *", n.Client, ") Close() error {")
	g.P("return c.client.Close()")
	g.P("}")
	g.P()
}

func generateClientMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	call := fmt.Sprintf("makes one %s call of %s with in, under the policy of %s.Methods[%d]; opts change the policy for this call.",
		sm.desc.protocol.inferenceRPC(), modelPhrase(mm.model), sm.names.Model, mm.index)
	generateMethodDoc(g, m, call)
	g.AnnotateSymbol(sm.names.Client+"."+m.GoName, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", m.GoName, "(ctx ", ctx, ", in *", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") (*", m.Output.GoIdent, ", error) {")
	g.P("return ", goaiimplPackage.Ident("Infer"), "(ctx, c.client, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

// generateStreamMethod writes the method of an rpc that returns a stream:
// it calls a decoupled model and returns the sequence of its responses.
func generateStreamMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	call := fmt.Sprintf("makes one call of %s, a decoupled model, with in, over ModelStreamInfer of the Open Inference Protocol (Triton), "+
		"under the policy of %s.Methods[%d]; opts change the policy for this call. Each range over the sequence makes the call and yields "+
		"its responses in order, with a nil error, until the server marks the last. A failure ends the sequence, yielded once with a nil "+
		"%s: data that does not fit its tensor (before anything is sent), the policies giving up, the server failing the request "+
		"([*%s]) or a response that does not match its tensors ([*%s]). Breaking out of the loop, or ctx ending, cancels the request "+
		"on the server. The timeout bounds the whole stream, the loop's body included, and the idle timeout (["+rt("WithIdleTimeout")+"]) "+
		"each wait for a response; retries and the fallback happen only before the first response.",
		modelPhrase(mm.model), sm.names.Model, mm.index, m.Output.GoIdent.GoName, rt("ResponseError"), rt("TensorError"))
	generateMethodDoc(g, m, call)
	g.AnnotateSymbol(sm.names.Client+"."+m.GoName, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", m.GoName, "(ctx ", ctx, ", in *", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") ", iterPackage.Ident("Seq2"), "[*", m.Output.GoIdent, ", error] {")
	g.P("return ", goaiimplPackage.Ident("Generate"), "(ctx, c.client, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

func generateBatchMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	name := batchMethod(m.GoName)
	wrapComment(g, name+" is "+m.GoName+" for many "+m.Input.GoIdent.GoName+" messages: it stacks them along the batch dimension "+
		"into as few "+sm.desc.protocol.inferenceRPC()+" calls as the model's batch limits allow, each under the policy of "+m.GoName+
		", runs them in parallel, and returns the results in the order of in. Data that does not fit its tensor "+
		"fails the whole batch before any call; an empty in makes none; ["+g.QualifiedGoIdent(goaiPackage.Ident("WithBatchParallelism"))+"] sets how many calls run at once.")
	if deprecated(m) {
		g.P("//")
		g.P(deprecationComment)
	}
	g.AnnotateSymbol(sm.names.Client+"."+name, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", name, "(ctx ", ctx, ", in []*", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") ([]*", m.Output.GoIdent, ", error) {")
	g.P("return ", goaiimplPackage.Ident("InferBatch"), "(ctx, c.client, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		mm.encode, ", ", mm.decode, ", opts...)")
	g.P("}")
	g.P()
}

func generateBatcherMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel) {
	m := mm.method
	name := batcherMethod(m.GoName)
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	wrapComment(g, name+" returns a micro-batcher of "+m.GoName+" calls: concurrent calls of its Do that arrive within "+
		"the batching delay go as one "+sm.desc.protocol.inferenceRPC()+" call under the policy of "+m.GoName+", stacked along the batch dimension, "+
		"and each caller gets its own result. A batch holds at most the batching policy's size and bytes, and only items "+
		"that agree in every dynamic dimension. The policy is "+sm.names.Model+".Batching; opts override it field by field "+
		"(["+rt("WithBatcherPolicy")+"]), set the options of each batch's call (["+rt("WithBatcherCallOptions")+"]) or "+
		"configure the batcher. Each call's timeout bounds its Do from the moment it is called, the wait for a batch included. "+
		"Close the batcher before the client; see ["+rt("Batcher")+"].")
	if deprecated(m) {
		g.P("//")
		g.P(deprecationComment)
	}
	g.AnnotateSymbol(sm.names.Client+"."+name, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", name, "(opts ...", goaiPackage.Ident("MicroBatchOption"), ") ",
		goaiPackage.Ident("Batcher"), "[*", m.Input.GoIdent, ", *", m.Output.GoIdent, "] {")
	g.P("return ", goaiimplPackage.Ident("NewInferBatcher"), "(c.client, &", sm.names.Model, ".Methods[", mm.index, "], ",
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
