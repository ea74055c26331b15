package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with the configuration.
type Problem struct {
	// Key is the dotted key ("limits.max_pages"), or "" for problems with
	// the file as a whole.
	Key string
	// Where is "file:line", the environment variable, or the file name.
	Where string
	Msg   string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Where != "" {
		b.WriteString(p.Where)
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists every problem found while loading a configuration.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problem"
	if len(parts) > 1 {
		noun = "problems"
	}
	return fmt.Sprintf("invalid configuration (%d %s): %s", len(parts), noun, strings.Join(parts, "; "))
}
