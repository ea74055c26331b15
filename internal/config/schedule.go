package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// MinInterval is the shortest "@every" interval accepted.
const MinInterval = time.Second

// maxScheduleLen bounds a schedule specification.
const maxScheduleLen = 256

// ParseSchedule parses a watcher schedule: "@every 6h", a descriptor
// (@hourly, @daily, @weekly, @monthly, @yearly) or a five-field cron line
// ("30 3 * * *"), optionally prefixed by "CRON_TZ=Area/City ". It rejects
// specifications that never fire (such as February 30th) and guards the
// cron parser against inputs it mishandles.
func ParseSchedule(spec string) (sched cron.Schedule, err error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("empty schedule")
	}
	if len(spec) > maxScheduleLen {
		return nil, fmt.Errorf("schedule is longer than %d bytes", maxScheduleLen)
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		// The parser slices up to the first space and panics without one.
		if !strings.Contains(spec, " ") {
			return nil, fmt.Errorf("schedule %q: a time zone prefix must be followed by a schedule", spec)
		}
	}
	if rest, ok := strings.CutPrefix(spec, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", spec, err)
		}
		if d < MinInterval {
			return nil, fmt.Errorf("schedule %q: interval must be at least %s", spec, MinInterval)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("schedule %q is not valid", spec)
		}
	}()
	sched, err = cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w (want @every DURATION, @hourly, @daily or five cron fields such as \"30 3 * * *\")", spec, err)
	}
	if sched.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("schedule %q never fires", spec)
	}
	return sched, nil
}
