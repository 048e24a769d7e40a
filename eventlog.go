package goai

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogInterval is how often, at most, a client given [WithLogger]
// logs one kind of event for one model, unless [WithLogInterval] says
// otherwise.
const DefaultLogInterval = time.Minute

// WithLogger makes a client log to l what operators need to see once, not
// per call: a model's circuit breaker opening and closing, the retry
// budget refusing a retry, a call falling back to the fallback model, and
// a contract mismatch found by [Client.CheckModel]. Each kind of event is
// logged at most once per [DefaultLogInterval] ([WithLogInterval]) for
// each model, by the client's clock ([WithClock]); the next record of the
// kind counts, as "suppressed", those left out, so a failing model cannot
// flood the log. A nil l logs nothing.
//
// Records are written on the goroutine of the event, a breaker's under
// its lock: l's handler must not call the client.
func WithLogger(l *slog.Logger) ClientOption {
	return clientOption(func(c *clientConfig) { c.logger = l })
}

// WithLogInterval sets how often, at most, a client given [WithLogger]
// logs one kind of event for one model, instead of [DefaultLogInterval];
// d <= 0 means the default.
func WithLogInterval(d time.Duration) ClientOption {
	return clientOption(func(c *clientConfig) { c.logEvery = d })
}

// logKind is a kind of event the log reports.
type logKind uint8

const (
	logBreakerOpened logKind = iota
	logBreakerClosed
	logBudgetExhausted
	logFallback
	logContract
)

// eventLog writes a client's events to a logger, at most one record per
// interval for each model and kind of event.
type eventLog struct {
	l     *slog.Logger
	clock Clock
	every time.Duration

	mu   sync.Mutex
	seen map[logKey]*logSlot // bounded: the client's models × kinds
}

type logKey struct {
	model ModelRef
	kind  logKind
}

// logSlot is when a model's kind of event was last logged, and how many
// of it were left out since.
type logSlot struct {
	at         time.Time
	suppressed int
}

func newEventLog(l *slog.Logger, clock Clock, every time.Duration) *eventLog {
	if every <= 0 {
		every = DefaultLogInterval
	}
	return &eventLog{l: l, clock: clock, every: every, seen: map[logKey]*logSlot{}}
}

// allow reports whether an event of kind for model may be logged now,
// and how many were left out before it.
func (g *eventLog) allow(model ModelRef, kind logKind) (ok bool, suppressed int) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	k := logKey{model, kind}
	s := g.seen[k]
	if s == nil {
		g.seen[k] = &logSlot{at: now}
		return true, 0
	}
	if now.Sub(s.at) < g.every {
		s.suppressed++
		return false, 0
	}
	suppressed = s.suppressed
	s.at, s.suppressed = now, 0
	return true, suppressed
}

// log writes one record, if the interval allows.
func (g *eventLog) log(ctx context.Context, level slog.Level, model ModelRef, kind logKind, msg string, attrs ...slog.Attr) {
	ok, suppressed := g.allow(model, kind)
	if !ok {
		return
	}
	attrs = append(attrs, slog.String("model", model.String()))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	g.l.LogAttrs(ctx, level, msg, attrs...)
}

// hooks returns the hooks through which the log sees a client's events.
func (g *eventLog) hooks() Hooks {
	return Hooks{
		BreakerStateChange: func(e BreakerEvent) {
			switch e.To {
			case BreakerOpen:
				g.log(context.Background(), slog.LevelWarn, e.Model, logBreakerOpened,
					"goai: circuit breaker opened", slog.String("from", e.From.String()))
			case BreakerClosed:
				g.log(context.Background(), slog.LevelInfo, e.Model, logBreakerClosed,
					"goai: circuit breaker closed", slog.String("from", e.From.String()))
			}
		},
		CallDone: func(ctx context.Context, e CallEvent) {
			if e.BudgetExhausted {
				g.log(ctx, slog.LevelWarn, e.Target, logBudgetExhausted,
					"goai: retry budget exhausted, retry refused", slog.String("rpc", e.Method))
			}
			if e.Info.Fallback {
				g.log(ctx, slog.LevelWarn, e.Target, logFallback, "goai: call fell back to the fallback model",
					slog.String("rpc", e.Method), slog.String("fallback", e.Info.Model.String()),
					slog.String("code", e.Code.String()))
			}
		},
	}
}

// contractMismatch logs a difference CheckModel found for model.
func (g *eventLog) contractMismatch(ctx context.Context, model ModelRef, err error) {
	g.log(ctx, slog.LevelError, model, logContract, "goai: model contract mismatch", slog.String("error", err.Error()))
}
