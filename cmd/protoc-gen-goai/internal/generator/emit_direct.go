package generator

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// generateDirectClient writes the typed client of a DIRECT service: the
// type, its constructors, one method per unary rpc calling the
// protoc-gen-go-grpc client of the service through goaiimpl.CallDirect,
// each with the method that checks its request's tensors, and the
// methods every client forwards to its goai.Client. Streaming rpcs get no method: a stream has no single attempt to
// retry, so the runtime's policies do not fit it, and the caller uses the
// protoc-gen-go-grpc client for them.
func generateDirectClient(g *protogen.GeneratedFile, sm *serviceModel) {
	n, desc := sm.names, sm.desc
	rt := func(name string) string { return g.QualifiedGoIdent(goaiPackage.Ident(name)) }
	ctx := g.QualifiedGoIdent(contextPackage.Ident("Context"))
	stub, newStub := g.QualifiedGoIdent(sm.stub), g.QualifiedGoIdent(sm.newStub)

	g.AnnotateSymbol(n.Client, protogen.Annotation{Location: sm.service.Location})
	wrapComment(g, n.Client+" calls "+desc.service+" through its own gRPC API, with the call policies that "+
		n.Model+" declares: each method calls the rpc of the same name on the "+stub+" that protoc-gen-go-grpc "+
		"generates into this package, so protoc-gen-go-grpc must run beside protoc-gen-goai. "+
		"Before sending, a method checks the length of every tensor its request holds, in the request and in the "+
		"messages its singular message fields hold, against the tensor's shape. It is safe for concurrent use.")
	var streams []string
	for _, mm := range sm.methods {
		if streaming(mm.method) {
			streams = append(streams, mm.method.GoName)
		}
	}
	if len(streams) > 0 {
		g.P("//")
		wrapComment(g, "Streaming rpcs have no method, as a stream has no single attempt for the policies to retry: call "+
			strings.Join(streams, ", ")+" on the "+stub+" of "+newStub+".")
	}
	g.P("type ", n.Client, " struct {")
	g.P("client *", rt("Client"))
	g.P("stub   ", stub)
	g.P("}")
	g.P()

	generateConstructors(g, n, "server", `"dns:///model-sync:443"`,
		"stub: "+newStub+"("+g.QualifiedGoIdent(goaiimplPackage.Ident("Conn"))+"(client))")

	for _, mm := range sm.methods {
		if !streaming(mm.method) {
			generateDirectMethod(g, sm, mm, ctx)
		}
	}

	generateClientForwards(g, n, false)
}

func generateDirectMethod(g *protogen.GeneratedFile, sm *serviceModel, mm *methodModel, ctx string) {
	m := mm.method
	retried := "not being idempotent, it is never retried once sent"
	if p := mm.policy.idempotent; p != nil && *p {
		retried = "being idempotent, it is retried as the policy says"
	}
	check := "nil"
	checked := ""
	if mm.check != nil {
		check = "c." + checkMethod(m.GoName)
		checked = ", once its tensors fit their shapes"
	}
	does := fmt.Sprintf("calls rpc %s with in%s, under the policy of %s.Methods[%d]; %s. opts change the policy for this call. See [%s].",
		m.Desc.Name(), checked, sm.names.Model, mm.index, retried, g.QualifiedGoIdent(goaiimplPackage.Ident("CallDirect")))
	generateMethodDoc(g, m, does)
	g.AnnotateSymbol(sm.names.Client+"."+m.GoName, protogen.Annotation{Location: m.Location})
	g.P("func (c *", sm.names.Client, ") ", m.GoName, "(ctx ", ctx, ", in *", m.Input.GoIdent,
		", opts ...", goaiPackage.Ident("CallOption"), ") (*", m.Output.GoIdent, ", error) {")
	g.P("return ", goaiimplPackage.Ident("CallDirect"), "(ctx, c.client, &", sm.names.Model, ".Methods[", mm.index, "], in, ",
		check, ", c.stub.", m.GoName, ", opts...)")
	g.P("}")
	g.P()

	if mm.check == nil {
		return
	}
	wrapComment(g, checkMethod(m.GoName)+" checks the length of every tensor in in, a request of "+m.GoName+
		", against its shape, in field order, descending into set singular message fields.")
	g.P("func (c *", sm.names.Client, ") ", checkMethod(m.GoName), "(in *", m.Input.GoIdent, ") error {")
	generateLengthChecks(g, mm.check, "in", 0)
	g.P("return nil")
	g.P("}")
	g.P()
}

// generateLengthChecks writes the checks of c on the message in variable v,
// at nesting depth.
func generateLengthChecks(g *protogen.GeneratedFile, c *lengthCheck, v string, depth int) {
	for _, i := range c.tensors {
		f, t := c.message.fields[i], c.message.tensors[i]
		check := "CheckTensorLength"
		if kindOf(f, t.dtype) == kindRaw {
			check = "CheckRawTensorLength"
		}
		g.P("if err := ", goaiimplPackage.Ident(check), "(&", tensorsIdent(c.message.message), "[", i, "], len(", v, ".Get", f.GoName, "())); err != nil {")
		g.P("return err")
		g.P("}")
	}
	for _, n := range c.nested {
		m := "m" + strconv.Itoa(depth+1)
		g.P("if ", m, " := ", v, ".Get", n.field.GoName, "(); ", m, " != nil {")
		generateLengthChecks(g, n, m, depth+1)
		g.P("}")
	}
}
