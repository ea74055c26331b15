package store

import (
	"slices"
	"sort"
	"time"
)

// Affected is one capture of an incident with its evidence summed up: what
// the people concerned must be told.
type Affected struct {
	IncidentID   string    `json:"incident_id"`
	CaptureID    string    `json:"capture_id"`
	Kind         string    `json:"kind"`
	FirstSeen    time.Time `json:"first_seen"`
	LastSeen     time.Time `json:"last_seen"`
	BestDistance int       `json:"best_distance"`
	Copies       int       `json:"copies"`
	// URLs has one entry per copy; an archive entry is URL#PATH.
	URLs []string `json:"urls"`
}

// Affected lists the incident's captures, by capture ID, from its
// matches that were not dismissed. Canaries are left out: they show
// nobody.
func (inc Incident) Affected() []Affected {
	rows := map[string]*Affected{}
	var order []string
	for _, m := range inc.Matches {
		if m.Dismissed || slices.Contains(inc.Canaries, m.CaptureID) {
			continue // a false positive or a canary: nobody to notify
		}
		r := rows[m.CaptureID]
		if r == nil {
			r = &Affected{IncidentID: inc.ID, CaptureID: m.CaptureID, Kind: m.Kind, FirstSeen: m.FirstSeen, LastSeen: m.LastSeen, BestDistance: m.Distance}
			rows[m.CaptureID] = r
			order = append(order, m.CaptureID)
		}
		r.Copies++
		if m.FirstSeen.Before(r.FirstSeen) {
			r.FirstSeen = m.FirstSeen
		}
		if m.LastSeen.After(r.LastSeen) {
			r.LastSeen = m.LastSeen
		}
		r.BestDistance = min(r.BestDistance, m.Distance)
		u := m.URL
		if m.ArchivePath != "" {
			u += "#" + m.ArchivePath
		}
		r.URLs = append(r.URLs, u)
	}
	sort.Strings(order)
	out := make([]Affected, len(order))
	for i, id := range order {
		out[i] = *rows[id]
	}
	return out
}
