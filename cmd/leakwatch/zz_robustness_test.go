package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestZZRobustnessCmd(t *testing.T) {
	args := os.Getenv("RB_ARGS")
	if args == "" {
		t.Skip()
	}
	var out, errb bytes.Buffer
	a := &app{env: env{stdout: &out, stderr: &errb, getenv: os.Getenv, readFile: os.ReadFile}}
	cmd := a.robustnessCmd()
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	os.WriteFile(os.Getenv("RB_OUT"), out.Bytes(), 0o644)
}
