package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// AddFlags defines on fs the flag of every setting command takes (see
// Setting.Commands), bound to o and set to its default. The flags parse
// values as the file and the environment do: "64MiB" is a size
// everywhere.
func AddFlags(fs *pflag.FlagSet, command string, o *Options) {
	for _, s := range Settings() {
		if s.Flag == "" || !slices.Contains(s.Commands, command) {
			continue
		}
		v := &value{s: s, p: s.field(o)}
		if s.Default != "" {
			x, err := s.parse(s.Default)
			if err != nil {
				panic(fmt.Sprintf("config: default of %s: %v", s.Key, err)) // the table is wrong
			}
			store(v.p, x)
		}
		f := fs.VarPF(v, s.Flag, "", s.Usage)
		if s.kind == kindBool {
			f.NoOptDefVal = "true"
		}
	}
}

// CheckFlags validates every setting flag of fs that was set, as the file
// and the environment are validated when loaded.
func CheckFlags(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		v, ok := f.Value.(*value)
		if !ok || !f.Changed || err != nil {
			return
		}
		for _, x := range v.items() {
			if e := v.s.validate(x); e != nil {
				err = fmt.Errorf("--%s %w", f.Name, e)
				return
			}
		}
	})
	return err
}

// IsSetting reports whether f was defined by AddFlags for key.
func IsSetting(f *pflag.Flag, key string) bool {
	v, ok := f.Value.(*value)
	return ok && v.s.Key == key
}

// value is a flag bound to a setting's field.
type value struct {
	s       Setting
	p       any
	changed bool
}

func (v *value) Set(str string) error {
	x, err := v.s.parse(str)
	if err != nil {
		return err
	}
	if p, ok := v.p.(*[]string); ok && !v.changed {
		*p = nil // the first use replaces the default
	}
	v.changed = true
	store(v.p, x)
	return nil
}

// String is the value in flag syntax; "" for an empty list and a zero
// duration, so that help shows no default for them.
func (v *value) String() string {
	vs := v.s.format(v.p)
	switch {
	case v.s.List && len(vs) > 0:
		return "[" + strings.Join(vs, ",") + "]"
	case v.s.List, len(vs) == 0, v.s.kind == kindDuration && vs[0] == "0s":
		return ""
	}
	return vs[0]
}

func (v *value) Type() string {
	switch v.s.kind {
	case kindList:
		return "stringArray"
	case kindInt:
		return "int"
	case kindSize:
		return "size"
	case kindDuration:
		return "duration"
	case kindBool:
		return "bool"
	}
	return "string"
}

// items are the values to validate: each list item, or the one value.
func (v *value) items() []any {
	switch p := v.p.(type) {
	case *[]string:
		out := make([]any, len(*p))
		for i, s := range *p {
			out[i] = s
		}
		return out
	case *string:
		return []any{*p}
	case *int:
		return []any{*p}
	case *int64:
		return []any{*p}
	case *bool:
		return []any{*p}
	case *time.Duration:
		return []any{*p}
	}
	return nil
}
