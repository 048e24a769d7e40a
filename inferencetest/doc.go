// Package inferencetest runs an in-process Open Inference Protocol (KServe
// v2 / Triton) gRPC server for tests: of goai itself, and of the clients
// protoc-gen-goai generates for your models.
//
// A [Server] serves models written as Go functions over decoded tensors
// ([Model], [InferFunc]), checks requests against each model's declared
// metadata as Triton does, and answers the way Triton (raw contents) or a
// KServe Python server (typed contents) would. It listens on an in-memory
// listener (gRPC over [google.golang.org/grpc/test/bufconn], REST over
// [net.Pipe]) or on loopback TCP ports,
// and hands out client connections with [Server.Dial].
//
// Tests can make it misbehave, at run time and from any goroutine
// ([Server.SetFaults], [Server.Script]): fail a fraction of calls,
// add latency, hang until the caller gives up, play a scripted sequence of
// outcomes, ask for gRPC retry pushback, charge a fixed cost per inference,
// or drop every connection, abruptly or gracefully, and come back on the
// same address ([Server.Down], [Server.Drain], [Server.Up],
// [Server.Restart]). It records what arrived
// ([Server.Requests], [Server.Stats]) so tests can assert on the wire.
//
// A minimal test, with the fake protoc-gen-goai generates for a model
// service (in the package <package>goaitest beside the client):
//
//	srv := inferencetest.New()
//	mnistv1goaitest.RegisterDigitClassifierFake(srv, mnistv1goaitest.DigitClassifierFakeFunc(classify))
//	if err := srv.StartBufconn(); err != nil { t.Fatal(err) }
//	defer srv.Stop()
//	conn, err := srv.Dial()
//	...
//	client := mnistv1.NewDigitClassifierModelClientFromConn(conn)
//
// A model can also be registered as a Go function over tensors ([Model],
// [Identity]).
//
// Tests of timing (deadlines, backoffs, breakers, latency and hang
// faults) can run the server inside a [testing/synctest] bubble: started
// there with [Server.StartBufconn], the server, its clients and gRPC's own
// timers all run on the bubble's fake clock, so a one-minute latency takes
// no real time, the durations a test measures are exact whatever the
// machine's load, and [testing/synctest.Wait] returns once the server has
// finished with the calls that ended. Create, use and stop such a server
// inside its bubble. Over TCP it cannot run in a bubble: a goroutine
// reading a socket never counts as durably blocked, so the fake clock
// would never move.
//
// Served RPCs: ServerLive, ServerReady, ServerMetadata, ModelReady,
// ModelMetadata and ModelInfer. ModelStreamInfer (Triton's bidirectional
// stream) answers UNIMPLEMENTED. Shared-memory parameters, sequence
// batching, the classification extension and Triton's custom parameters are
// not interpreted: parameters reach the model function untouched.
package inferencetest
