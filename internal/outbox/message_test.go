package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

// slackSink answers like a Slack incoming webhook and keeps what a person
// would read of each message: the header, the sections and the links.
type slackSink struct {
	mu   sync.Mutex
	read []string
	raw  []map[string]any
}

func (s *slackSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	if err := json.Unmarshal(b, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	var sb strings.Builder
	for _, bl := range msg.Blocks {
		if bl.Text != nil {
			sb.WriteString(bl.Text.Text + "\n")
		}
		for _, e := range bl.Elements {
			sb.WriteString(e.Text + "\n")
		}
	}
	s.mu.Lock()
	s.read = append(s.read, sb.String())
	s.raw = append(s.raw, raw)
	s.mu.Unlock()
	io.WriteString(w, "ok")
}

func ev(capture, kind, page, sha string) store.Evidence {
	return store.Evidence{CaptureID: capture, Kind: kind, URL: page + sha + ".jpg", Page: page, SHA256: sha, Algorithm: "pdq", Variant: "original"}
}

// TestEveryNotifierRendersEveryIncidentEvent sends each incident event
// type through Slack, a webhook and the JSON-lines log, and checks that
// what a person reads names the source, the number of captures, each
// affected capture and the incident, and links to the page.
func TestEveryNotifierRendersEveryIncidentEvent(t *testing.T) {
	ctx := context.Background()
	const page = "http://dump.example/thread/7/"
	tests := []struct {
		typ   string
		setup func(t *testing.T, st *store.Store, eps []string)
		// want: what every rendering must contain.
		want []string
	}{
		{store.EventCreated, func(t *testing.T, st *store.Store, eps []string) {
			recordAt(t, st, eps, ev("traveler-0001", "face", page, "aa"), ev("plate-0002", "plate", page, "bb"))
		}, []string{"Leak found", "2 captures", "traveler-0001 (face)", "plate-0002 (plate)"}},
		{store.EventUpdated, func(t *testing.T, st *store.Store, eps []string) {
			recordAt(t, st, eps, ev("traveler-0001", "face", page, "aa"))
			deliverAll(t, st)
			recordAt(t, st, eps, ev("plate-0002", "plate", page, "bb"), ev("plate-0003", "plate", page, "cc"))
			if _, err := st.Announce(ctx, eps); err != nil {
				t.Fatal(err)
			}
		}, []string{"Leak grew", "2 more captures", "3 in all", "New since the last alert: plate-0002, plate-0003"}},
		{store.EventReappeared, func(t *testing.T, st *store.Store, eps []string) {
			recordAt(t, st, eps, ev("traveler-0001", "face", page, "aa"))
			deliverAll(t, st)
			if _, err := st.SetStatus(ctx, store.IncidentID("http://dump.example"), store.StatusResolved); err != nil {
				t.Fatal(err)
			}
			recordAt(t, st, eps, ev("traveler-0001", "face", page, "dd"))
		}, []string{"Leak re-appeared", "1 capture ", "traveler-0001 (face)"}},
		{store.EventCreated, func(t *testing.T, st *store.Store, eps []string) {
			// With a ledger: whose copy leaked, and the canary apart.
			if _, err := st.AddTransfers(ctx, []store.Transfer{
				{ID: "T1", Recipient: "Acme", Date: "2026-01-01", Captures: []string{"traveler-0001", "plate-0002"}},
				{ID: "K1", Recipient: "Bolt", Date: "2026-01-01", Canary: true, Captures: []string{"k-0001"}},
			}); err != nil {
				t.Fatal(err)
			}
			recordAt(t, st, eps, ev("traveler-0001", "face", page, "aa"), ev("k-0001", "face", page, "bb"))
		}, []string{"Leak found", "Canaries (synthetic, nobody to notify): k-0001", "Who leaked it: canary issued only to Bolt found in the leak"}},
		{store.EventCreated, func(t *testing.T, st *store.Store, eps []string) {
			// A large leak: its matches alone are over a megabyte, which
			// receivers refuse; the event must still go out, and say so.
			evs := make([]store.Evidence, 3000)
			for i := range evs {
				evs[i] = ev(fmt.Sprintf("traveler-%04d", i%300), "face", page, fmt.Sprintf("%064x", i))
				evs[i].ArchivePath = strings.Repeat("nested/", 20) + fmt.Sprintf("photo-%d.jpg", i)
			}
			recordAt(t, st, eps, evs...)
		}, []string{"Leak found", "300 captures", "3000 copies", "traveler-0000 (face)", "and 280 more"}},
	}
	for i, tc := range tests {
		// Distinct names: Go would add "#01" to a repeated one, and a '#'
		// in the temporary store's path ends SQLite's file URI there.
		t.Run(fmt.Sprintf("%d-%s", i, tc.typ), func(t *testing.T) {
			st := openStore(t, nil)
			slack := &slackSink{}
			slackSrv := httptest.NewServer(slack)
			defer slackSrv.Close()
			sec, err := alerts.NewSecret(nil)
			if err != nil {
				t.Fatal(err)
			}
			recv := alerts.NewReceiver(sec)
			hookSrv := httptest.NewServer(recv)
			defer hookSrv.Close()
			sl, err := alerts.NewSlack(slackSrv.URL + "/services/T/B/X")
			if err != nil {
				t.Fatal(err)
			}
			hook, err := alerts.NewWebhook(hookSrv.URL, sec)
			if err != nil {
				t.Fatal(err)
			}
			var logBuf bytes.Buffer
			nots := map[string]alerts.Notifier{"slack": sl, "hook": hook, "log": alerts.NewLogSink(&logBuf)}
			eps := []string{"hook", "log", "slack"}
			tc.setup(t, st, eps)
			d := &Dispatcher{Store: st, Notifiers: nots, Now: func() time.Time { return time.Now().Add(time.Hour) }}
			if _, err := d.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			inc, err := st.Incident(ctx, store.IncidentID("http://dump.example"))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]string{inc.ID, "http://dump.example", page}, tc.want...)

			slack.mu.Lock()
			read, raw := slack.read, slack.raw
			slack.mu.Unlock()
			if len(read) == 0 {
				t.Fatal("Slack received nothing")
			}
			last := read[len(read)-1]
			checkText(t, "slack", last, want)
			if !strings.Contains(last, tc.typ) {
				t.Errorf("slack: %q does not name the event type %s", last, tc.typ)
			}
			if raw[len(raw)-1]["unfurl_links"] != false {
				t.Errorf("slack message lets Slack unfurl the dump site's links: %v", raw[len(raw)-1])
			}

			got := recv.Received()
			if len(got) == 0 {
				t.Fatal("webhook received nothing")
			}
			checkText(t, "webhook", summaryOf(t, got[len(got)-1].Body), want)

			lines := strings.Split(strings.TrimSpace(logBuf.String()), "\n")
			checkText(t, "log", summaryOf(t, []byte(lines[len(lines)-1])), want)
		})
	}
}

// summaryOf returns the summary a JSON notifier sent, as one text, after
// checking that the incident data is still there.
func summaryOf(t *testing.T, body []byte) string {
	t.Helper()
	var p struct {
		Type string `json:"type"`
		Data struct {
			Summary  alerts.Summary `json:"summary"`
			Incident struct {
				ID string `json:"id"`
			} `json:"incident"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("payload %s: %v", body, err)
	}
	if p.Data.Incident.ID == "" {
		t.Errorf("payload lost the incident: %s", body)
	}
	s := p.Data.Summary
	return p.Type + "\n" + s.Title + "\n" + s.Text + "\n" + s.Link
}

func checkText(t *testing.T, who, text string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("%s: the message a person reads lacks %q:\n%s", who, w, text)
		}
	}
}

func recordAt(t *testing.T, st *store.Store, eps []string, evs ...store.Evidence) {
	t.Helper()
	if _, err := st.RecordMatches(context.Background(), "http://dump.example", evs, eps); err != nil {
		t.Fatal(err)
	}
}

// deliverAll marks every pending delivery delivered, so the next event is
// the one a test looks at.
func deliverAll(t *testing.T, st *store.Store) {
	t.Helper()
	d := &Dispatcher{Store: st, Notifiers: map[string]alerts.Notifier{"hook": &fakeNotifier{}, "log": &fakeNotifier{}, "slack": &fakeNotifier{}},
		Now: func() time.Time { return time.Now().Add(time.Hour) }}
	if _, err := d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}
