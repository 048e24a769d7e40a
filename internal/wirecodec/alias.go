package wirecodec

import (
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Why hand-decoding: proto.UnmarshalOptions has no aliasing option, and the
// runtime's protoiface.UnmarshalAliasBuffer flag, reachable through
// ProtoMethods, is honoured only by lazy message decoding in
// google.golang.org/protobuf v1.36: bytes fields are still copied
// (internal/impl/codec_gen.go consumeBytesSlice appends to a fresh slice).
// So this file walks the top level of the wire message with protowire,
// points long bytes fields into the buffer itself, and hands every other
// run of fields to proto.Unmarshal with Merge. Protobuf defines a message's
// encoding as the concatenation of its fields in any order, so decoding it
// run by run, merging, gives the same message as decoding it whole.

// plan lists, for one message type, the fields to decode by hand.
type plan struct {
	alias  []protoreflect.FieldDescriptor // bytes fields, singular or repeated
	nested []nestedPlan                   // singular message fields holding such fields
}

type nestedPlan struct {
	fd   protoreflect.FieldDescriptor
	plan *plan
}

// plans caches planFor by message descriptor; a nil *plan means the type
// has nothing to alias.
var plans sync.Map // protoreflect.MessageDescriptor -> *plan

// planFor returns the plan for md, or nil if md has no bytes field to
// alias, at the top level or through singular message fields.
func planFor(md protoreflect.MessageDescriptor) *plan {
	if p, ok := plans.Load(md); ok {
		return p.(*plan)
	}
	p := buildPlan(md, map[protoreflect.FullName]bool{})
	plans.Store(md, p)
	return p
}

// buildPlan does not follow repeated or map message fields (a per-element
// hand-decode would cost more than the copies it saves on typed contents)
// nor recursive types (visiting), so plans are finite.
func buildPlan(md protoreflect.MessageDescriptor, visiting map[protoreflect.FullName]bool) *plan {
	if visiting[md.FullName()] {
		return nil
	}
	visiting[md.FullName()] = true
	defer delete(visiting, md.FullName())
	p := &plan{}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.Kind() == protoreflect.BytesKind:
			p.alias = append(p.alias, fd)
		case fd.Kind() == protoreflect.MessageKind && fd.Cardinality() != protoreflect.Repeated:
			if sub := buildPlan(fd.Message(), visiting); sub != nil {
				p.nested = append(p.nested, nestedPlan{fd, sub})
			}
		}
	}
	if len(p.alias) == 0 && len(p.nested) == 0 {
		return nil
	}
	return p
}

// minAlias is the shortest bytes value, or nested message, decoded by
// hand. Setting a field through protoreflect costs some 90 bytes in three
// allocations, more than copying a short value: without a floor, a message
// of a million empty raw_output_contents entries, 2 MB on the wire, cost
// 220 MB to decode instead of proto.Unmarshal's 125 MB. Above it the cost
// is under a tenth of a byte per byte received, and a tensor this short is
// no copy worth saving, nor worth keeping the whole buffer alive for.
const minAlias = 1024

// segmentOptions decodes the fields between aliased ones. AllowPartial
// because a required field may sit in a later run; unmarshalAliased checks
// required fields once at the end.
var segmentOptions = proto.UnmarshalOptions{Merge: true, AllowPartial: true}

// unmarshalAliased resets m and decodes b into it following p. It reports
// whether any field of m now points into b.
func unmarshalAliased(b []byte, m proto.Message, p *plan) (bool, error) {
	proto.Reset(m)
	aliased, err := decode(b, m.ProtoReflect(), p)
	if err != nil {
		return aliased, err
	}
	return aliased, proto.CheckInitialized(m)
}

func decode(b []byte, m protoreflect.Message, p *plan) (aliased bool, err error) {
	run := -1 // start of the pending run of fields for proto.Unmarshal
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		err := segmentOptions.Unmarshal(b[run:end], m.Interface())
		run = -1
		return err
	}
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return aliased, protowire.ParseError(n)
		}
		if typ == protowire.BytesType {
			if fd, sub := p.lookup(num); fd != nil {
				v, vn := protowire.ConsumeBytes(b[off+n:])
				if vn < 0 {
					return aliased, protowire.ParseError(vn)
				}
				if len(v) < minAlias {
					// Left to proto.Unmarshal, in the pending run.
					if run < 0 {
						run = off
					}
					off += n + vn
					continue
				}
				if err := flush(off); err != nil {
					return aliased, err
				}
				end := off + n + vn
				// Cap the slice at its end so that appending to one field
				// cannot overwrite the next.
				v = b[end-len(v) : end : end]
				if sub == nil {
					setBytes(m, fd, v)
					aliased = true
				} else {
					a, err := decode(v, m.Mutable(fd).Message(), sub)
					aliased = aliased || a
					if err != nil {
						return aliased, err
					}
				}
				off = end
				continue
			}
		}
		vn := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if vn < 0 {
			return aliased, protowire.ParseError(vn)
		}
		if run < 0 {
			run = off
		}
		off += n + vn
	}
	return aliased, flush(len(b))
}

// lookup returns the field numbered num if p decodes it by hand, with the
// nested plan for a message field.
func (p *plan) lookup(num protowire.Number) (protoreflect.FieldDescriptor, *plan) {
	for _, fd := range p.alias {
		if fd.Number() == num {
			return fd, nil
		}
	}
	for _, np := range p.nested {
		if np.fd.Number() == num {
			return np.fd, np.plan
		}
	}
	return nil, nil
}

// rawAppender is a message that appends a value of one of its repeated
// bytes fields without protoreflect, whose Mutable, List and Append cost
// four allocations per value, more than a short tensor saves by not being
// copied. goai's private OIP messages (internal/oippb) are; any other
// message takes the reflective path, to the same effect.
type rawAppender interface {
	AppendRawContents(num protowire.Number, v []byte) bool
}

// setBytes stores v in the bytes field fd without copying: protoreflect
// keeps the slice it is given for bytes values.
func setBytes(m protoreflect.Message, fd protoreflect.FieldDescriptor, v []byte) {
	if fd.IsList() {
		if a, ok := m.Interface().(rawAppender); ok && a.AppendRawContents(fd.Number(), v) {
			return
		}
		m.Mutable(fd).List().Append(protoreflect.ValueOfBytes(v))
		return
	}
	m.Set(fd, protoreflect.ValueOfBytes(v))
}
