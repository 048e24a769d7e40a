// Package goai is the runtime of the model clients that protoc-gen-goai
// generates from annotated inference-service protos: what their users
// configure, call and match errors against. The generated
// <Service>ModelClient types are the entry point; this package holds what
// they share.
//
// # Making a client
//
// A generated client dials its own connections,
//
//	c, err := mnistv1.NewDigitClassifierModelClient("dns:///triton:8001",
//		goai.WithTLSConfig(cfg), goai.WithPoolSize(2))
//
// or calls through a connection of the caller's, such as a [Pool] shared by
// several clients or a *grpc.ClientConn:
//
//	c := mnistv1.NewDigitClassifierModelClientFromConn(pool, goai.WithHooks(h))
//
// Options say where they apply: a [PoolOption] configures connections
// (TLS, credentials, keepalive, pool size) and goes to [Dial] or the
// dialing constructor; a [ClientOption] configures the client's call
// policies, hooks and per-call message limits and goes to either
// constructor; an [Option] is either kind. The compiler refuses an option
// where it cannot apply.
//
// # The call path
//
// Every call of a generated client runs through its [Client], under the
// rpc's [CallPolicy] as the annotations declare it ([ModelDesc] describes
// them), overridden per client by options and per call by [CallOption]s:
//
//   - the model's version: a call's [WithModelVersion], else one drawn from
//     the routes of [Client.SetRoutes], else the annotated one;
//   - the call's timeout, which bounds the whole call as the caller sees it,
//     waits on limits and the micro-batcher included;
//   - a token-bucket rate limit and a concurrency bulkhead ([LimitPolicy]);
//   - a circuit breaker per model and version ([BreakerPolicy]), which
//     counts calls by their last attempt and fails calls at once while open;
//   - retries with exponential backoff and jitter, or the server's
//     pushback, paid from a [RetryBudget] shared by the clients of a pool
//     ([RetryPolicy]);
//   - a fallback model, tried once when the model fails.
//
// Errors keep their gRPC codes, and those the runtime ends a call with
// match sentinels through errors.Is: [ErrBreakerOpen],
// [ErrRetryBudgetExhausted], [ErrRateLimited], [ErrBulkheadFull],
// [ErrMessageTooLarge]; data that does not fit its tensor is a
// [*TensorError] (matching [ErrBadTensor]), a model whose server metadata
// disagrees with its declaration a [*ContractError] (matching
// [ErrContractMismatch]). [Report] tells what a call did, and [Hooks]
// observe every call, attempt, retry and breaker change, for metrics and
// tracing. Time comes from a [Clock], so that tests of waits need not
// sleep.
//
// Package github.com/goai-dev/goai/tensor is the tensor codec the
// generated mappers use, and github.com/goai-dev/goai/inferencetest an
// in-process model server for tests, which the generated fakes
// (<package>goaitest) run on. Package goaiimpl is for generated code only.
package goai
