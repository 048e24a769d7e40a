package generator

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// A problem is one annotation mistake, reported like a compiler error:
//
//	vision/v1/image.proto:12:5: vision.v1.Image.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes
//
// A warning is reported the same way, its message after "warning: ".
type problem struct {
	file      string // the .proto file's path, as protoc names it
	line, col int    // 1-based; 0 when the descriptor has no source info
	name      protoreflect.FullName
	msg       string // what is wrong; how to fix it
	warning   bool   // the annotation works, but likely not as meant
}

func (p *problem) Error() string {
	var b strings.Builder
	b.WriteString(p.file)
	if p.line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.line, p.col)
	}
	fmt.Fprintf(&b, ": %s: ", p.name)
	if p.warning {
		b.WriteString("warning: ")
	}
	b.WriteString(p.msg)
	return b.String()
}

// A site is where an annotation sits: a declaration and, when the problem is
// in one of its goai options, the options message and its source path.
type site struct {
	file protoreflect.FileDescriptor
	name protoreflect.FullName // the declaration's full name
	// path is the source path of the annotation: the declaration's path,
	// then the options field and the extension's number. Without an
	// annotation it is the declaration's path alone.
	path protoreflect.SourcePath
	// desc describes the annotation's message type, such as
	// goai.v1.CallOptions; nil for a declaration without one.
	desc protoreflect.MessageDescriptor
	// label names the option of the annotation the site points at, such
	// as "retry.max_backoff"; empty for the annotation as a whole.
	label string
}

// annotation returns the site of the extension xt in the options of the
// declaration d, whose options sit at field number optionsField of its
// descriptor proto (8 for a field, 3 for a service, 4 for a method).
func annotation(d protoreflect.Descriptor, path protoreflect.SourcePath, optionsField int32, xt protoreflect.ExtensionType) site {
	x := xt.TypeDescriptor()
	return site{
		file: d.ParentFile(),
		name: d.FullName(),
		path: append(slices.Clip(path), optionsField, int32(x.Number())),
		desc: x.Message(),
	}
}

// declaration returns the site of the declaration d itself.
func declaration(d protoreflect.Descriptor, path protoreflect.SourcePath) site {
	return site{file: d.ParentFile(), name: d.FullName(), path: path}
}

// at returns the site of the option with the dotted label (such as
// "retry.max_backoff") within the site's annotation. The label names
// fields of the annotation's message type, so that the label in a message
// and the position it is reported at cannot disagree.
func (s site) at(label string) site {
	path := slices.Clip(s.path)
	md := s.desc
	for name := range strings.SplitSeq(label, ".") {
		if md == nil {
			break
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			break
		}
		path = append(path, int32(fd.Number()))
		md = fd.Message()
	}
	return site{file: s.file, name: s.name, path: path, desc: s.desc, label: label}
}

// reporter collects every problem of an analysis: errors, which fail it,
// and warnings, which do not.
type reporter struct {
	problems, warnings []*problem
}

// errorf reports a problem at s. The message says what is wrong, then,
// after a semicolon, how to fix it.
func (r *reporter) errorf(s site, format string, args ...any) {
	r.problems = append(r.problems, newProblem(s, false, format, args...))
}

// warnf reports, at s, an annotation that works as the runtime defines
// it but is likely a mistake, worded as errorf's messages are. Use it only
// where the annotation can be right; anything else is an error.
func (r *reporter) warnf(s site, format string, args ...any) {
	r.warnings = append(r.warnings, newProblem(s, true, format, args...))
}

func newProblem(s site, warning bool, format string, args ...any) *problem {
	line, col := position(s.file, s.path)
	return &problem{
		file:    s.file.Path(),
		line:    line,
		col:     col,
		name:    s.name,
		msg:     fmt.Sprintf(format, args...),
		warning: warning,
	}
}

// err returns the errors in source order, joined, or nil for none.
func (r *reporter) err() error {
	sortProblems(r.problems)
	errs := make([]error, len(r.problems))
	for i, p := range r.problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// warningLines returns the warnings in source order, one line each.
func (r *reporter) warningLines() []string {
	sortProblems(r.warnings)
	lines := make([]string, len(r.warnings))
	for i, p := range r.warnings {
		lines[i] = p.Error()
	}
	return lines
}

func sortProblems(problems []*problem) {
	slices.SortStableFunc(problems, func(a, b *problem) int {
		return cmp.Or(
			strings.Compare(a.file, b.file),
			cmp.Compare(a.line, b.line),
			cmp.Compare(a.col, b.col),
		)
	})
}

// position returns the 1-based start of the most specific source location
// recorded for path: the offending option when the source info has it
// (protoc records options set one by one, not fields inside a {...} value),
// else the enclosing option or declaration; 0, 0 without source info.
func position(file protoreflect.FileDescriptor, path protoreflect.SourcePath) (line, col int) {
	locs := file.SourceLocations()
	for p := path; len(p) > 0; p = p[:len(p)-1] {
		if loc := locs.ByPath(p); loc.Path != nil {
			return loc.StartLine + 1, loc.StartColumn + 1
		}
	}
	return 0, 0
}
