package goai

import (
	"github.com/goai-dev/goai/internal/tfs"
)

// What TF Serving names besides a model and its version is the client's,
// not the request's: a client serves one service, whose annotation names
// one signature, and whose version label, if any, names a version of the
// service's model alone. So both go in the transport's options, made once
// per client, and the protocol-neutral requests (internal/wire) carry
// neither. A call's own version, a route's or the fallback's goes in the
// request as any version does: TF Serving reads digits as a version number
// and anything else as a label (tfs.VersionAuto); only a request of the
// service's model that names no version gets the label.

// tfsOptions returns the options of the TF Serving transport of a client
// of desc, whose responses may take recv bytes, telling the time by clock.
func tfsOptions(desc *ModelDesc, recv int, clock Clock) tfs.Options {
	o := tfs.Options{
		SignatureName: desc.SignatureName,
		Version:       tfs.VersionAuto,
		// A tensor sent whole is never larger than its message; the limit
		// refuses the ones a short typed field stretches.
		MaxDecodedBytes:  recv,
		MaxResponseBytes: recv,
		Now:              clock.Now,
	}
	if desc.VersionLabel != "" {
		o.Labels = map[string]string{desc.Model.Name: desc.VersionLabel}
	}
	return o
}
