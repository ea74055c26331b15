package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// maxURLFile bounds a file holding one Slack URL.
const maxURLFile = 4 << 10

// Targets are the alert endpoints an operator named, on the command line
// or in the configuration.
type Targets struct {
	Webhooks []string
	// Slacks are Slack incoming-webhook URLs; SlackFiles name files that
	// each hold one, which keeps the credential out of process listings.
	Slacks, SlackFiles []string
	// LogFile receives every event as a JSON line; "-" is the Stdout
	// given to Open.
	LogFile string
}

// Empty reports whether no endpoint is named.
func (t Targets) Empty() bool {
	return len(t.Webhooks)+len(t.Slacks)+len(t.SlackFiles) == 0 && t.LogFile == ""
}

// Endpoints are notifiers keyed for the outbox, in the order they were
// named.
type Endpoints struct {
	Notifiers map[string]Notifier
	Keys      []string
}

// Close closes the notifiers that hold files.
func (e Endpoints) Close() {
	for _, n := range e.Notifiers {
		if c, ok := n.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

func (e *Endpoints) add(key string, n Notifier) {
	if e.Notifiers == nil {
		e.Notifiers = map[string]Notifier{}
	}
	if _, dup := e.Notifiers[key]; !dup {
		e.Keys = append(e.Keys, key)
	}
	e.Notifiers[key] = n
}

// EndpointKey names an endpoint in the store without storing its URL,
// which may itself be a secret (Slack).
func EndpointKey(kind, rawURL string) string {
	sum := sha256.Sum256([]byte(rawURL))
	return kind + ":" + hex.EncodeToString(sum[:6])
}

// TargetError is an endpoint named wrongly, or a webhook without a signing
// secret: the operator's mistake, not a delivery failure.
type TargetError struct{ Err error }

func (e *TargetError) Error() string { return e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

func targetErrorf(format string, a ...any) error { return &TargetError{fmt.Errorf(format, a...)} }

// Env is what Open needs from the process.
type Env struct {
	// Getenv and ReadFile find the webhook signing secret (see
	// SecretFromEnv) and read Slack URL files.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
	// Stdout is the log sink "-".
	Stdout io.Writer
	Logger *slog.Logger
	// Transport, when set, carries every webhook and Slack request: in Tor
	// mode, Tor's, so that alerts do not leave the machine another way.
	// Nil: Go's default transport.
	Transport http.RoundTripper
}

// senderOptions are the options of every webhook and Slack sender.
func (env Env) senderOptions() []WebhookOption {
	opts := []WebhookOption{WithLogger(env.Logger)}
	if env.Transport != nil {
		opts = append(opts, WithHTTPClient(&http.Client{Transport: env.Transport}))
	}
	return opts
}

// Open builds the notifiers for t. Webhooks are signed with the secret
// from the environment; a webhook without one is a *TargetError.
func Open(t Targets, env Env) (Endpoints, error) {
	var eps Endpoints
	if err := eps.addWebhooks(t.Webhooks, env); err != nil {
		return Endpoints{}, err
	}
	slacks := append([]string(nil), t.Slacks...)
	for _, p := range t.SlackFiles {
		u, err := readURLFile(p, env.ReadFile)
		if err != nil {
			return Endpoints{}, err
		}
		slacks = append(slacks, u)
	}
	for _, u := range slacks {
		n, err := NewSlack(u, env.senderOptions()...)
		if err != nil {
			return Endpoints{}, &TargetError{err}
		}
		eps.add(EndpointKey("slack", u), n)
	}
	if t.LogFile != "" {
		n, key, err := openLogSink(t.LogFile, env.Stdout)
		if err != nil {
			eps.Close()
			return Endpoints{}, err
		}
		eps.add(key, n)
	}
	return eps, nil
}

func (e *Endpoints) addWebhooks(urls []string, env Env) error {
	if len(urls) == 0 {
		return nil
	}
	sec, ok, err := SecretFromEnv(env.Getenv, env.ReadFile)
	if err != nil {
		return &TargetError{err}
	}
	if !ok {
		return targetErrorf("--webhook needs a signing secret in %s or %s", EnvSecret, EnvSecretFile)
	}
	for _, u := range urls {
		n, err := NewWebhook(u, sec, env.senderOptions()...)
		if err != nil {
			return &TargetError{err}
		}
		e.add(EndpointKey("webhook", u), n)
	}
	return nil
}

// readURLFile reads one URL from a file. Errors name the file, never its
// content.
func readURLFile(path string, readFile func(string) ([]byte, error)) (string, error) {
	b, err := readFile(path)
	if err != nil {
		return "", targetErrorf("--slack-webhook-file: %v", err)
	}
	if len(b) > maxURLFile {
		return "", targetErrorf("--slack-webhook-file %s: %d bytes is too large for a URL", path, len(b))
	}
	u := strings.TrimSpace(string(b))
	if u == "" || strings.ContainsAny(u, "\r\n") {
		return "", targetErrorf("--slack-webhook-file %s must hold exactly one URL", path)
	}
	return u, nil
}

// fileSink is a LogSink on a file it owns.
type fileSink struct {
	*LogSink
	f *os.File
}

// Notify writes the line and syncs the file: the store records the event
// delivered once Notify returns, so the line must survive a power loss.
func (s fileSink) Notify(ctx context.Context, ev Event) error {
	if err := s.LogSink.Notify(ctx, ev); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("alerts: log: syncing event %s: %w", ev.ID, err)
	}
	return nil
}

func (s fileSink) Close() error { return s.f.Close() }

var _ Notifier = fileSink{}

func openLogSink(path string, stdout io.Writer) (Notifier, string, error) {
	if path == "-" {
		return NewLogSink(stdout), EndpointKey("log", "-"), nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("--alert-log: %w", err)
	}
	return fileSink{LogSink: NewLogSink(f), f: f}, EndpointKey("log", abs), nil
}

// Class says, for an operator, how the outbox treats a delivery error.
func Class(err error) string {
	switch c := errorClass(err); c {
	case "gone":
		return "gone (would disable the endpoint)"
	case "permanent":
		return "permanent (would not be retried)"
	case "retryable":
		return c
	}
	return "failed"
}
