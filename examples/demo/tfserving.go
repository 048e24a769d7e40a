package demo

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/goai-dev/goai"
	digitsv1 "github.com/goai-dev/goai/examples/gen/digits/v1"
	"github.com/goai-dev/goai/examples/models/digits"
)

// The TF Serving phase calls the same digits model through TF Serving's
// Predict: a client generated from a service annotated
// PROTOCOL_TF_SERVING, on the same server, which speaks both protocols.

// classifyTF makes cfg.Calls single Classify calls through TF Serving's
// API, checked as classify checks its own.
func (d *driver) classifyTF(ctx context.Context, name string) Phase {
	net, _ := digits.Trained()
	return d.run(name, d.cfg.Calls, func(i int, rng *rand.Rand) result {
		img := digits.Noisy(rng, i%digits.Classes, 0.6)
		want, _ := net.Forward(img)
		var info goai.CallInfo
		start := time.Now()
		got, err := d.tfGlyphs.Classify(ctx, &digitsv1.Glyph{Pixels: img}, d.callOptions(goai.Report(&info))...)
		r := result{latency: time.Since(start), err: err, attempts: info.Attempts, items: 1}
		if err == nil {
			r.wrong = !slices.Equal(got.GetProbs(), want)
		}
		return r
	})
}
