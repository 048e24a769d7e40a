package inferencetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Faults configures the misbehaviour a [Server] injects into calls. The
// zero value injects nothing. Set it with [Server.SetFaults]; each field is
// independent of the others.
//
// A call the faults apply to (see Methods) first waits Latency plus
// LatencyFunc's answer. Then, if a [Server.Script] outcome is pending, the
// call takes it; otherwise it hangs if Hang is set, else fails as FailWith
// with probability FailRate, else is served. A served ModelInfer or Predict
// pays Cost inside the model.
//
// Each request that arrives on a ModelStreamInfer stream counts as a call
// of method "ModelStreamInfer" and draws its own outcome, in arrival order
// with the other calls: a failure fails that request in the stream, with
// an error_message response as Triton sends (its code is lost), and
// leaves the stream to its other requests; a hang holds the request, and
// with it the answers of the requests behind it on the stream, as Triton
// answers a stream's requests to models that are not decoupled in order.
// An [Outcome] can also strike after some of a request's responses
// (After), and end the whole stream (Reset).
type Faults struct {
	// Methods lists the RPCs the faults and the script apply to, by
	// method name such as "ModelInfer", "ModelStreamInfer" (each request
	// on a stream) or "ServerReady". Nil means the inference calls only,
	// ModelInfer, the requests of ModelStreamInfer and TF Serving's
	// Predict, so that health and metadata checks a client makes on the
	// side neither fail nor use up scripted outcomes; an empty, non-nil
	// list means no RPC at all.
	Methods []string

	// FailRate is the fraction of calls, from 0 to 1, that fail as
	// FailWith. Which calls fail is drawn from a generator seeded with
	// Seed, so a test making calls one after another sees the same
	// failures on every run.
	FailRate float64
	// FailWith is how the calls drawn by FailRate fail, such as
	// Fail(codes.ResourceExhausted) or a [Pushback]. A Code of OK (the
	// zero value) means UNAVAILABLE.
	FailWith Outcome
	// Seed seeds the FailRate draws; every SetFaults starts the sequence
	// afresh. Zero is a seed like any other.
	Seed uint64

	// Latency is added to every call, before anything else happens to it.
	Latency time.Duration
	// LatencyFunc, if set, adds latency per call on top of Latency, such
	// as by model name or by a request parameter. It runs on the serving
	// goroutine and must be safe for concurrent use.
	LatencyFunc func(Call) time.Duration

	// Hang makes calls block until the caller's deadline passes or it
	// cancels, or until the server goes down or stops (then the call
	// fails with UNAVAILABLE).
	Hang bool

	// Cost is what every served ModelInfer or Predict call costs the
	// server, however large its batch: a sleep inside the model, after the
	// request passed validation, while holding one of the model's
	// [Model.Instances]. It is not a fault but a stand-in for compute, for
	// measuring batching.
	Cost time.Duration
}

// Call is the call [Faults.LatencyFunc] decides on.
type Call struct {
	// Method is the RPC's method name, such as "ModelInfer".
	Method string
	// Request is the request message, in goai's private copy of the
	// protocol's messages. Do not modify it.
	Request proto.Message
}

// Outcome is what an injected fault does to one call. The zero value
// serves the call normally, after no delay.
type Outcome struct {
	// Code, if not OK, fails the call with this status code.
	Code codes.Code
	// Message is the status message of a failure. Empty means
	// "inferencetest: injected <Code>".
	Message string
	// Delay is waited before the outcome happens, after any latency of
	// [Faults].
	Delay time.Duration
	// Hang blocks the call until the caller gives up (see [Faults.Hang]).
	Hang bool
	// Trailer is sent with a failure, such as grpc-retry-pushback-ms
	// (see [Pushback]). Over REST its entries are sent as response
	// headers, but for [PushbackTrailer], which becomes Retry-After.
	// Requests on a stream have no trailer of their own: it is sent only
	// with a Reset.
	Trailer metadata.MD

	// After applies to a request on a ModelStreamInfer stream: the
	// outcome (its Delay, then its failure, hang or reset) strikes once
	// the request has been sent this many responses, rather than before
	// the model runs. A failure then ends a decoupled model's request
	// with an error_message after its first After responses (the model's
	// context is canceled); a hang stalls it (no further response, until
	// the client gives up); a reset ends the stream after them. A request
	// that completes with fewer responses is not affected, and neither
	// is, by a failure or a hang, a request to a model that is not
	// decoupled, whose one response completes it. ModelInfer ignores
	// After.
	After int
	// Reset ends the ModelStreamInfer stream carrying the request, and
	// every request on it, with status Code (UNAVAILABLE when Code is
	// OK): the stream's RPC fails, as when a proxy or the server drops
	// it. On ModelInfer it fails the call as Code does.
	Reset bool
}

// Serve returns the outcome that serves a call normally, for scripts that
// read better with it spelled out.
func Serve() Outcome { return Outcome{} }

// Fail returns the outcome that fails a call with code.
func Fail(code codes.Code) Outcome { return Outcome{Code: code} }

// Hang returns the outcome that blocks a call until the caller gives up.
func Hang() Outcome { return Outcome{Hang: true} }

// FailAfter returns the outcome that fails a request on a stream with an
// error_message after n of its responses (see [Outcome.After]); code is
// what a ModelInfer call, or the message, says.
func FailAfter(n int, code codes.Code) Outcome { return Outcome{Code: code, After: n} }

// HangAfter returns the outcome that stalls a request on a stream after n
// of its responses.
func HangAfter(n int) Outcome { return Outcome{Hang: true, After: n} }

// ResetAfter returns the outcome that ends the stream carrying a request
// with code after n of the request's responses: 0 before the model runs,
// so that the request is lost with the stream.
func ResetAfter(n int, code codes.Code) Outcome { return Outcome{Code: code, Reset: true, After: n} }

// PushbackTrailer is the trailer key by which a server tells gRPC's
// client-side retry when to retry, in milliseconds (gRFC A6).
const PushbackTrailer = "grpc-retry-pushback-ms"

// Pushback returns the outcome that fails a call with code and asks the
// client to retry after d, through trailer [PushbackTrailer]. A negative d
// sends -1, which tells a gRPC client not to retry at all. gRPC clients
// honour pushback only for codes their retry policy lists as retryable.
//
// Over REST the same outcome answers with header Retry-After: d in whole
// seconds, rounded up (HTTP has no finer unit), or -1, which HTTP clients
// read as malformed and goai as a request not to retry.
func Pushback(code codes.Code, d time.Duration) Outcome {
	ms := "-1"
	if d >= 0 {
		ms = strconv.FormatInt(d.Milliseconds(), 10)
	}
	return Outcome{Code: code, Trailer: metadata.Pairs(PushbackTrailer, ms)}
}

// SetFaults replaces the faults the server injects, from the next call on;
// calls already waiting keep what they drew. Safe for concurrent use.
func (s *Server) SetFaults(f Faults) {
	s.faults.set(f)
}

// Script queues outcomes for the next calls the faults apply to, one per
// call, after any outcomes already queued; once they are used up, calls are
// handled by the [Faults] again. For example, Script(Fail(codes.Unavailable),
// Fail(codes.Unavailable), Serve()) fails two calls and serves the third.
func (s *Server) Script(outcomes ...Outcome) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.script = append(s.faults.script, outcomes...)
}

// ClearFaults removes all faults and any outcomes left in the script.
func (s *Server) ClearFaults() {
	s.faults.set(Faults{})
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.script = nil
}

type faultState struct {
	mu      sync.Mutex
	f       Faults
	methods map[string]bool // nil: ModelInfer only
	rng     *rand.Rand
	script  []Outcome
}

func (fs *faultState) set(f Faults) {
	if !(f.FailRate > 0) { // also catches NaN
		f.FailRate = 0
	}
	f.FailRate = min(f.FailRate, 1)
	if f.FailWith.Code == codes.OK {
		f.FailWith.Code = codes.Unavailable
	}
	var methods map[string]bool
	if f.Methods != nil {
		f.Methods = slices.Clone(f.Methods)
		methods = make(map[string]bool, len(f.Methods))
		for _, m := range f.Methods {
			methods[m] = true
		}
	}
	// Two different words for PCG's state and stream, derived from one
	// seed, so that Seed alone fixes the sequence.
	rng := rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))

	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.f, fs.methods, fs.rng = f, methods, rng
}

func (fs *faultState) cost() time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.Cost
}

// plan decides, at arrival, what happens to a call: deciding under the lock
// and in arrival order is what makes seeded draws and scripts
// deterministic for sequential callers.
type plan struct {
	latency     time.Duration
	latencyFunc func(Call) time.Duration
	outcome     Outcome
}

func (fs *faultState) plan(method string) (p plan, applies bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.methods == nil && method != "ModelInfer" && method != "ModelStreamInfer" && method != "Predict" || fs.methods != nil && !fs.methods[method] {
		return plan{}, false
	}
	p.latency, p.latencyFunc = fs.f.Latency, fs.f.LatencyFunc
	switch {
	case len(fs.script) > 0:
		p.outcome = fs.script[0]
		fs.script[0] = Outcome{} // drop the trailer for the GC
		fs.script = fs.script[1:]
	case fs.f.Hang:
		p.outcome = Hang()
	case fs.f.FailRate > 0 && fs.rng.Float64() < fs.f.FailRate:
		p.outcome = fs.f.FailWith
	}
	return p, true
}

// inject applies the faults to a call. A non-nil error ends the call;
// injected reports whether a fault, rather than the caller, caused it.
func (s *Server) inject(ctx context.Context, method string, req proto.Message) (injected bool, err error) {
	p, ok := s.faults.plan(method)
	if !ok {
		return false, nil
	}
	o := p.outcome
	d := p.latency + o.Delay
	if p.latencyFunc != nil {
		d += p.latencyFunc(Call{Method: method, Request: req})
	}
	if d <= 0 && !o.Hang && o.Code == codes.OK {
		return false, nil
	}
	wctx, done := waitContext(ctx)
	defer done()
	if d > 0 {
		if err := s.cfg.sleep(wctx, d); err != nil {
			return true, waitError(wctx, err)
		}
	}
	if o.Hang {
		<-wctx.Done()
		return true, waitError(wctx, wctx.Err())
	}
	if o.Code == codes.OK {
		return false, nil
	}
	if len(o.Trailer) > 0 {
		if sink, ok := ctx.Value(trailerKey{}).(*metadata.MD); ok {
			// A REST call: its handler turns the trailer into headers.
			*sink = metadata.Join(*sink, o.Trailer)
		} else {
			// The error below is the call's status; a failure to set
			// the trailer would only mean the stream is already gone.
			_ = grpc.SetTrailer(ctx, o.Trailer)
		}
	}
	msg := o.Message
	if msg == "" {
		msg = "inferencetest: injected " + o.Code.String()
	}
	return true, status.Error(o.Code, msg)
}

// errStopping is the cause of a wait cut short by Down or Stop.
var errStopping = errors.New("inferencetest: server is stopping")

type stopKey struct{}

// trailerKey holds, in a REST call's context, the *metadata.MD that
// collects the trailer a fault sends.
type trailerKey struct{}

// waitContext derives from a call's context one that is also canceled when
// the server generation serving the call stops, so that a hang or a sleep
// never holds up Down or Stop.
func waitContext(ctx context.Context) (context.Context, context.CancelFunc) {
	stop, _ := ctx.Value(stopKey{}).(context.Context)
	wctx, cancel := context.WithCancelCause(ctx)
	if stop == nil {
		return wctx, func() { cancel(nil) }
	}
	unregister := context.AfterFunc(stop, func() { cancel(errStopping) })
	return wctx, func() {
		unregister()
		cancel(nil)
	}
}

// waitError turns the end of a wait into the call's status.
func waitError(wctx context.Context, err error) error {
	if cause := context.Cause(wctx); errors.Is(cause, errStopping) {
		return status.Error(codes.Unavailable, cause.Error())
	}
	if wctx.Err() != nil {
		return status.FromContextError(wctx.Err()).Err()
	}
	return status.Errorf(codes.Internal, "inferencetest: sleep: %v", err)
}
