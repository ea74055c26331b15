package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(runMain()) }

// runMain runs the command line with SIGINT and SIGTERM cancelling its
// context (the tests' copy of the binary runs it too, so that signals
// reach the commands as they do in the real one).
func runMain() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal cancels the context and the command shuts down
	// cleanly; a second one is not caught, so it ends a shutdown that
	// hangs (a store that no longer answers) the default way.
	context.AfterFunc(ctx, stop)
	return run(ctx, os.Args[1:], env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, readFile: os.ReadFile})
}
