package generator

import (
	"slices"

	"google.golang.org/protobuf/compiler/protogen"
)

// lengthChecks plans what the client of a DIRECT service checks of message,
// an rpc's request (field nil) or a message that a singular message field
// of it holds, before sending the request: the length of each tensor held
// in a repeated field or raw bytes that not every length fits, in the
// message and, through singular
// message fields, in the messages it holds. Repeated and map message
// fields are not followed, nor is a message already on the path (a
// recursive message is checked at its first level). It returns nil when
// there is nothing to check.
func (a *analysis) lengthChecks(message *protogen.Message, field *protogen.Field, path map[*protogen.Message]bool) *lengthCheck {
	if path[message] || !a.reachesTensors(message) {
		return nil
	}
	path[message] = true
	defer delete(path, message)

	c := &lengthCheck{field: field}
	if hasTensors(message) {
		c.message = a.model(message)
		for i, t := range c.message.tensors {
			switch kindOf(c.message.fields[i], t.dtype) {
			case kindRaw: // whole elements, at least
				c.tensors = append(c.tensors, i)
			case kindTensor, kindStrings:
				if !anyLength(t.shape) {
					c.tensors = append(c.tensors, i)
				}
			}
		}
	}
	for _, f := range message.Fields {
		if f.Message == nil || f.Desc.IsList() || f.Desc.IsMap() {
			continue
		}
		if n := a.lengthChecks(f.Message, f, path); n != nil {
			c.nested = append(c.nested, n)
		}
	}
	if len(c.tensors) == 0 && len(c.nested) == 0 {
		return nil
	}
	return c
}

// reachesTensors reports whether message, or a message it reaches through
// singular message fields, has a tensor annotation.
func (a *analysis) reachesTensors(message *protogen.Message) bool {
	if r, ok := a.reaches[message]; ok {
		return r
	}
	// A walk of its own per message, so that a cycle cannot leave a
	// memoized answer half-computed.
	seen := map[*protogen.Message]bool{message: true}
	queue := []*protogen.Message{message}
	found := false
	for len(queue) > 0 && !found {
		m := queue[0]
		queue = queue[1:]
		found = hasTensors(m)
		for _, f := range m.Fields {
			if f.Message != nil && !f.Desc.IsList() && !f.Desc.IsMap() && !seen[f.Message] {
				seen[f.Message] = true
				queue = append(queue, f.Message)
			}
		}
	}
	a.reaches[message] = found
	return found
}

// anyLength reports whether any number of elements fits shape: its one
// dynamic dimension is its only dimension larger than 1.
func anyLength(shape []int64) bool {
	return slices.Contains(shape, -1) && !slices.ContainsFunc(shape, func(d int64) bool { return d > 1 })
}
