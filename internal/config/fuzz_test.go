package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that no file content panics the loader and that every
// failure is reported as an *Error.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"bank: b.lwb\nseeds: [https://a.example/]\n",
		"limits: {max_pages: 10, delay: 1s, max_image_bytes: 8MiB}\n",
		"a: &x [1, 2]\nseeds: *x\n",
		"alerts:\n  slack_url_file: [a, b]\n  webhook_secret: x\n",
		"watch: {schedule: 'CRON_TZ=UTC 0 3 * * *', listen: '127.0.0.1:0'}\n",
		"- 1\n- 2\n",
		"x: {",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %v is not a non-empty *Error", err)
			}
			return
		}
		_ = c.Values()
	})
}

// FuzzParseSchedule checks that no schedule panics and that an accepted
// one fires.
func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"@every 6h", "30 3 * * *", "CRON_TZ=UTC 0 0 * * 1", "TZ=", "@every 0s", "0 0 31 2 *", "*/5 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		_, _ = ParseSchedule(spec)
	})
}
