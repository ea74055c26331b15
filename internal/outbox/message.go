package outbox

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

// maxListed bounds the captures and pages a message names; the rest is
// counted ("and 12 more"), since the full list is in the store and the
// export.
const maxListed = 20

// Event turns a stored delivery into the event the notifiers send. The
// data is the stored payload, unchanged, with a summary for people: what
// happened, where, how many captures, which ones and a link to the page.
func Event(p store.Pending) alerts.Event {
	data := incidentData{typ: p.Type, raw: json.RawMessage(p.Payload)}
	if json.Unmarshal(p.Payload, &data.ev) != nil || data.ev.Incident.ID == "" {
		// Not an incident event (or from a newer build): sent as stored.
		return alerts.Event{ID: p.EventID, Type: p.Type, Timestamp: p.CreatedAt, Data: data.raw}
	}
	return alerts.Event{ID: p.EventID, Type: p.Type, Timestamp: p.CreatedAt, Data: data}
}

// incidentData is an incident event's data: marshalled as stored (so a
// retry sends the same bytes) and summarised for Slack and the summary
// member of the JSON notifiers.
type incidentData struct {
	typ string
	raw json.RawMessage
	ev  store.EventData
}

var _ alerts.Summarizer = incidentData{}

func (d incidentData) MarshalJSON() ([]byte, error) { return d.raw, nil }

// AlertSummary implements alerts.Summarizer.
func (d incidentData) AlertSummary() (title, text, link string) {
	inc := d.ev.Incident
	var om store.Omitted
	if d.ev.Omitted != nil {
		om = *d.ev.Omitted
	}
	n := len(inc.Captures) + om.Captures
	where := inc.Source
	switch d.typ {
	case store.EventCreated:
		title = fmt.Sprintf("Leak found: %s at %s", plural(n, "capture"), where)
	case store.EventReappeared:
		title = fmt.Sprintf("Leak re-appeared: %s at %s", plural(n, "capture"), where)
	case store.EventUpdated:
		title = fmt.Sprintf("Leak grew: %s at %s (%d in all)", plural(len(d.ev.NewCaptures)+om.NewCaptures, "more capture"), where, n)
	default:
		title = fmt.Sprintf("leakwatch %s: %s at %s", d.typ, plural(n, "capture"), where)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Incident %s, status %s.\n", inc.ID, inc.Status)
	fmt.Fprintf(&b, "Source: %s\n", inc.Source)
	copies := om.Matches
	for _, m := range inc.Matches {
		if !m.Dismissed {
			copies++
		}
	}
	fmt.Fprintf(&b, "Affected captures (%d, %s): %s\n", n, plural(copies, "copy"), listed(d.capturesWithKind(), maxListed, om.Captures))
	if len(inc.Canaries) > 0 {
		fmt.Fprintf(&b, "Canaries (synthetic, nobody to notify): %s\n", listed(inc.Canaries, maxListed, 0))
	}
	if a := inc.Attribution; a != nil {
		fmt.Fprintf(&b, "Who leaked it: %s\n", a.Summary)
	}
	if len(d.ev.NewCaptures)+om.NewCaptures > 0 && d.typ != store.EventCreated {
		fmt.Fprintf(&b, "New since the last alert: %s\n", listed(d.ev.NewCaptures, maxListed, om.NewCaptures))
	}
	pages := d.pages()
	if len(pages) > 0 {
		fmt.Fprintf(&b, "Found on: %s\n", listed(pages, 3, 0))
	}
	fmt.Fprintf(&b, "First seen %s, last seen %s.\n", stamp(inc.FirstSeen), stamp(inc.LastSeen))
	fmt.Fprintf(&b, "Details: leakwatch incidents show %s", inc.ID)
	if len(pages) > 0 {
		link = pages[0]
	} else {
		link = inc.Source
	}
	return title, b.String(), link
}

// capturesWithKind names each capture with its kind: "traveler-0001 (face)".
func (d incidentData) capturesWithKind() []string {
	kind := map[string]string{}
	for _, m := range d.ev.Incident.Matches {
		kind[m.CaptureID] = m.Kind
	}
	out := make([]string, len(d.ev.Incident.Captures))
	for i, c := range d.ev.Incident.Captures {
		out[i] = c
		if k := kind[c]; k != "" {
			out[i] += " (" + k + ")"
		}
	}
	return out
}

// pages lists the pages that linked the copies (the file itself when no
// page did), those of new captures first, each once.
func (d incidentData) pages() []string {
	isNew := map[string]bool{}
	for _, c := range d.ev.NewCaptures {
		isNew[c] = true
	}
	ms := append([]store.Match(nil), d.ev.Incident.Matches...)
	sort.SliceStable(ms, func(i, j int) bool { return isNew[ms[i].CaptureID] && !isNew[ms[j].CaptureID] })
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		if m.Dismissed {
			continue
		}
		p := m.Page
		if p == "" {
			p = m.URL
		}
		if u, err := url.Parse(p); err != nil || (u.Scheme != "http" && u.Scheme != "https") || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return out
}

func listed(xs []string, max, omitted int) string {
	if len(xs) == 0 && omitted == 0 {
		return "none"
	}
	more := omitted
	if len(xs) > max {
		xs, more = xs[:max], more+len(xs)-max
	}
	if more == 0 {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs, ", ") + fmt.Sprintf(" and %d more", more)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(word, "y"))
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }
