package oiphttp

import (
	"errors"
	"io"
	"sync"

	"google.golang.org/grpc/codes"
)

// bodyBufs is the reusable memory of one request body: the JSON header,
// the list of binary chunks [EncodeRequest] fills, and the list of parts
// (header then chunks) the body is read from.
type bodyBufs struct {
	header []byte
	chunks [][]byte
	parts  [][]byte
}

// put returns b to the pool, dropping its references to a caller's
// tensors and any header too large to keep.
func (b *bodyBufs) put() {
	clear(b.chunks)
	clear(b.parts)
	b.chunks, b.parts = b.chunks[:0], b.parts[:0]
	if cap(b.header) > maxPooledHeader {
		b.header = nil
	}
	b.header = b.header[:0]
	bufsPool.Put(b)
}

// maxPooledHeader is the largest header buffer kept for reuse: a JSON
// header with small tensors is a few KiB, and one holding large JSON
// data (binary off) should go back to the garbage collector rather than
// pin memory in the pool.
const maxPooledHeader = 1 << 20

var bufsPool = sync.Pool{New: func() any { return new(bodyBufs) }}

// requestBody is the body of one request: the JSON header followed by
// the binary chunks, which alias the caller's tensors, read in place, so
// that sending a tensor costs no copy beyond the one into the socket.
//
// http.Transport reads a body from its own goroutine and may still be
// reading after RoundTrip has returned (a server that answers before
// reading the whole request, a connection being torn down), while the
// caller is free to reuse its tensors once Infer returns. So release
// detaches the parts under the lock that every Read takes: a late Read
// fails instead of touching memory that is no longer the request's, and
// only then does the header buffer go back to the pool. The requestBody
// itself is never reused, so a stale reader can never see another
// request's parts.
type requestBody struct {
	mu    sync.Mutex
	bufs  *bodyBufs // nil once released
	parts [][]byte  // header then chunks
	size  int64
}

// errBodyReleased is what a Read of a body gets after its call is over.
var errBodyReleased = errors.New("oiphttp: request body read after the call ended")

func newRequestBody(bufs *bodyBufs, header []byte, chunks [][]byte) *requestBody {
	parts := append(bufs.parts[:0], header)
	parts = append(parts, chunks...)
	bufs.header, bufs.chunks, bufs.parts = header, chunks, parts
	size := int64(0)
	for _, p := range parts {
		size += int64(len(p))
	}
	return &requestBody{bufs: bufs, parts: parts, size: size}
}

// reader returns a new reader of the whole body, for the request and for
// http.Request.GetBody, which http.Transport calls to send the body again
// on a fresh connection when a reused one turns out dead before the
// request was written.
func (b *requestBody) reader() io.ReadCloser { return &bodyReader{b: b} }

// release ends the body's life; see requestBody.
func (b *requestBody) release() {
	b.mu.Lock()
	bufs := b.bufs
	b.bufs, b.parts = nil, nil
	b.mu.Unlock()
	if bufs != nil {
		bufs.put()
	}
}

type bodyReader struct {
	b    *requestBody
	part int
	off  int
}

func (r *bodyReader) Read(p []byte) (int, error) {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.bufs == nil {
		return 0, errBodyReleased
	}
	n := 0
	for n < len(p) && r.part < len(b.parts) {
		c := copy(p[n:], b.parts[r.part][r.off:])
		n += c
		r.off += c
		if r.off == len(b.parts[r.part]) {
			r.part++
			r.off = 0
		}
	}
	if r.part == len(b.parts) {
		return n, io.EOF
	}
	return n, nil
}

func (r *bodyReader) Close() error { return nil }

// initialRead is the first buffer for a body of unknown or claimed
// length: a claim (Content-Length) is not trusted for more than this
// until the bytes arrive.
const initialRead = 1 << 20

// readBody reads r to the end into one buffer, of at most limit bytes.
// contentLength is the length the answer claims, -1 if none. The buffer
// grows by doubling as bytes arrive, up to the claim, so what is
// allocated stays within twice what was received (plus initialRead):
// never the claim itself. A body over limit is an [*Error] with code
// RESOURCE_EXHAUSTED wrapping [ErrTooLarge]; a read error is returned as
// it is, for the caller to classify.
func readBody(r io.Reader, contentLength int64, limit int) ([]byte, error) {
	if contentLength > int64(limit) {
		return nil, tooLarge("received", contentLength, limit)
	}
	want := int64(limit) + 1 // one byte more shows the body is over the limit
	if contentLength >= 0 {
		want = contentLength
	}
	buf := make([]byte, 0, min(want, initialRead, 64<<10+int64(max(contentLength, 0))))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= want {
				// A claimed length is reached; http checks the body ends
				// there. An unclaimed one is over the limit.
				if contentLength >= 0 {
					return buf, nil
				}
				return nil, tooLarge("received", int64(len(buf)), limit)
			}
			grown := make([]byte, len(buf), min(want, max(2*int64(cap(buf)), 4096)))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > int64(limit) {
				return nil, tooLarge("received", int64(len(buf)), limit)
			}
			if contentLength >= 0 && int64(len(buf)) != contentLength {
				return nil, io.ErrUnexpectedEOF
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// tooLarge is the error for a message over a limit, worded as grpc-go's
// ("grpc: received message larger than max (N vs. M)").
func tooLarge(dir string, n int64, limit int) *Error {
	return newError(codes.ResourceExhausted, ErrTooLarge, "%s message larger than max (%d vs. %d)", dir, n, limit)
}

// ownLimit marks e, an error wrapping ErrTooLarge, as a limit of the
// client's own: it then also wraps local, wire.ErrRequestTooLarge or
// wire.ErrResponseTooLarge.
func ownLimit(e *Error, local error) *Error {
	e.Err = errors.Join(e.Err, local)
	return e
}
