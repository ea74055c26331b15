package alerts

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// Secret sizes. Standard Webhooks recommends 24 to 64 random bytes; we also
// accept down to 16 bytes (128 bits, still beyond brute force) because some
// providers issue shorter keys, and cap the size to keep input bounded.
const (
	MinSecretBytes = 16
	MaxSecretBytes = 512

	secretPrefix   = "whsec_"
	redactedSecret = "whsec_****"
	newSecretBytes = 32
	maxSecretFile  = 4 << 10
)

// Environment variables read by SecretFromEnv. The secret is never taken from
// a flag, so it stays out of shell history and process listings.
const (
	EnvSecret     = "LEAKWATCH_WEBHOOK_SECRET"
	EnvSecretFile = "LEAKWATCH_WEBHOOK_SECRET_FILE"
)

// ErrInvalidSecret reports a webhook secret that is empty, lacks the whsec_
// prefix, is not base64 or is too short. Its messages never contain the
// secret itself.
var ErrInvalidSecret = errors.New("invalid webhook secret")

// Secret is a parsed Standard Webhooks signing key. Its zero value is "no
// secret". Every formatting path (String, %v, %#v, %x, slog) prints
// "whsec_****", so a Secret can sit in a struct that gets logged.
type Secret struct {
	key []byte
}

// ParseSecret parses "whsec_" followed by standard base64 (padding optional).
// Surrounding whitespace is ignored. The decoded key must hold between
// MinSecretBytes and MaxSecretBytes bytes.
func ParseSecret(s string) (Secret, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Secret{}, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	enc, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("%w: must start with %q", ErrInvalidSecret, secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil && !strings.Contains(enc, "=") {
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		// Deliberately not wrapping err: keep the message free of input.
		return Secret{}, fmt.Errorf("%w: text after %q is not valid base64", ErrInvalidSecret, secretPrefix)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return Secret{}, fmt.Errorf("%w: key is %d bytes, want %d to %d",
			ErrInvalidSecret, len(key), MinSecretBytes, MaxSecretBytes)
	}
	return Secret{key: key}, nil
}

// NewSecret generates a 32-byte secret from r, or from crypto/rand when r is
// nil. Use Reveal to hand it to the receiver's operator.
func NewSecret(r io.Reader) (Secret, error) {
	if r == nil {
		r = rand.Reader
	}
	key := make([]byte, newSecretBytes)
	if _, err := io.ReadFull(r, key); err != nil {
		return Secret{}, fmt.Errorf("generating webhook secret: %w", err)
	}
	return Secret{key: key}, nil
}

// SecretFromEnv reads the signing secret from EnvSecret, or from the file
// named by EnvSecretFile (trailing newline trimmed). ok is false when neither
// is set; setting both is an error because the intent is ambiguous. A nil
// getenv or readFile means os.Getenv or os.ReadFile.
func SecretFromEnv(getenv func(string) string, readFile func(string) ([]byte, error)) (sec Secret, ok bool, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if readFile == nil {
		readFile = os.ReadFile
	}
	val, path := getenv(EnvSecret), getenv(EnvSecretFile)
	switch {
	case val != "" && path != "":
		return Secret{}, false, fmt.Errorf("%w: both %s and %s are set; set only one",
			ErrInvalidSecret, EnvSecret, EnvSecretFile)
	case val != "":
		sec, err := ParseSecret(val)
		if err != nil {
			return Secret{}, false, fmt.Errorf("%s: %w", EnvSecret, err)
		}
		return sec, true, nil
	case path != "":
		data, err := readFile(path)
		if err != nil {
			return Secret{}, false, fmt.Errorf("%s: reading secret file: %w", EnvSecretFile, err)
		}
		if len(data) > maxSecretFile {
			return Secret{}, false, fmt.Errorf("%s: %w: file is %d bytes, too large for a secret",
				EnvSecretFile, ErrInvalidSecret, len(data))
		}
		sec, err := ParseSecret(strings.TrimRight(string(data), "\r\n"))
		if err != nil {
			return Secret{}, false, fmt.Errorf("%s %s: %w", EnvSecretFile, path, err)
		}
		return sec, true, nil
	}
	return Secret{}, false, nil
}

// IsZero reports whether s holds no key.
func (s Secret) IsZero() bool { return len(s.key) == 0 }

// Reveal returns the secret in its whsec_ form. It is the only way to get the
// key out; call it only to show a freshly generated secret to its owner.
func (s Secret) Reveal() string {
	if s.IsZero() {
		return ""
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(s.key)
}

// String returns "whsec_****" (or "" for the zero Secret), never the key.
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redactedSecret
}

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return "alerts.Secret(" + redactedSecret + ")" }

// Format makes every fmt verb print the redacted form; without it %x or %d
// would print the key bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, s.GoString())
		return
	}
	io.WriteString(f, s.String())
}

// LogValue keeps slog output redacted whatever the handler.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
