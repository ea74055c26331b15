package alerts

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// slackServer answers like Slack and keeps the last message it got.
type slackServer struct {
	status int
	body   string
	mu     sync.Mutex
	last   slackMessage
	hits   int
}

func (s *slackServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var msg slackMessage
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.hits++
	if err := json.Unmarshal(b, &msg); err == nil && r.Header.Get("Content-Type") == "application/json" {
		s.last = msg
	}
	s.mu.Unlock()
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func TestSlackResponses(t *testing.T) {
	tests := map[string]struct {
		status    int
		body      string
		wantErr   error
		retryable bool
	}{
		"ok":                  {status: 200, body: "ok"},
		"ok with newline":     {status: 200, body: "ok\n"},
		"200 but not ok":      {status: 200, body: "<html>captive portal</html>", wantErr: ErrPermanent},
		"200 empty":           {status: 200, body: "", wantErr: ErrPermanent},
		"invalid_payload":     {status: 400, body: "invalid_payload", wantErr: ErrPermanent},
		"action_prohibited":   {status: 403, body: "action_prohibited", wantErr: ErrPermanent},
		"no_service":          {status: 404, body: "no_service", wantErr: ErrPermanent},
		"channel_is_archived": {status: 410, body: "channel_is_archived", wantErr: ErrGone},
		"rate_limited":        {status: 429, body: "rate_limited", retryable: true},
		"rollup_error":        {status: 500, body: "rollup_error", retryable: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(&slackServer{status: tc.status, body: tc.body})
			defer srv.Close()
			sl, err := NewSlack(srv.URL + "/services/T000/B000/XXXX")
			if err != nil {
				t.Fatal(err)
			}
			err = sl.Notify(t.Context(), testEvent("evt_1"))
			var re *RetryableError
			switch {
			case tc.retryable:
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want retryable", err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if tc.body != "" && !strings.Contains(err.Error(), excerpt([]byte(tc.body))) {
					t.Fatalf("error %q does not carry Slack's reason %q", err, tc.body)
				}
			default:
				if err != nil {
					t.Fatalf("Notify: %v", err)
				}
			}
		})
	}
}

func TestSlackMessage(t *testing.T) {
	srv := &slackServer{status: 200, body: "ok"}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	sl, err := NewSlack(ts.URL + "/services/T/B/X")
	if err != nil {
		t.Fatal(err)
	}

	ev := testEvent("evt_42")
	ev.Data = incident{
		Title: "Capture cap_7 found on a dump site",
		Text:  "Seen at <http://evil.example|click me> & <!channel>",
		Link:  "https://leakwatch.example/i/7|x>y",
	}
	if err := sl.Notify(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	msg := srv.last
	srv.mu.Unlock()

	if !strings.Contains(msg.Text, "Capture cap_7") {
		t.Errorf("fallback text %q lacks the title", msg.Text)
	}
	if len(msg.Blocks) == 0 || msg.Blocks[0].Type != "header" || msg.Blocks[0].Text.Text != "Capture cap_7 found on a dump site" {
		t.Fatalf("first block = %+v, want a header with the summary title", msg.Blocks)
	}
	all, _ := json.Marshal(msg)
	for _, forbidden := range []string{"<http://evil.example", "<!channel>", "|x>"} {
		if strings.Contains(string(all), forbidden) {
			t.Errorf("message contains unescaped %q: %s", forbidden, all)
		}
	}
	// No link: a click would take the analyst's browser to the dump
	// site. The text is verbatim: Slack makes no links or mentions of it.
	if strings.Contains(string(all), "leakwatch.example/i/7") {
		t.Errorf("message links the summary's link: %s", all)
	}
	var sawID bool
	for _, b := range msg.Blocks {
		if b.Text != nil && b.Text.Type == "mrkdwn" && !b.Text.Verbatim {
			t.Errorf("mrkdwn text Slack may turn into links and mentions: %+v", b.Text)
		}
		for _, e := range b.Elements {
			sawID = sawID || strings.Contains(e.Text, ev.ID)
		}
	}
	if !sawID {
		t.Errorf("no event ID in the context line: %s", all)
	}
}

func TestSlackMessageWithoutSummary(t *testing.T) {
	ev := testEvent("evt_1")
	ev.Data = map[string]int{"matches": 3}
	msg := slackMessageFor(ev)
	if !strings.Contains(msg.Text, ev.Type) || msg.Blocks[0].Text.Text != "leakwatch: "+ev.Type {
		t.Fatalf("message without Summarizer = %+v, want the event type as title", msg)
	}
}

func TestSlackMessageLimits(t *testing.T) {
	ev := testEvent("evt_1")
	ev.Data = incident{Title: strings.Repeat("T", 1000), Text: strings.Repeat("é", 10000), Link: "javascript:alert(1)"}
	msg := slackMessageFor(ev)
	for _, b := range msg.Blocks {
		if b.Text == nil {
			continue
		}
		limit := slackSectionMax
		if b.Type == "header" {
			limit = slackHeaderMax
		}
		if n := len([]rune(b.Text.Text)); n > limit {
			t.Errorf("%s block has %d characters, Slack allows %d", b.Type, n, limit)
		}
		if strings.Contains(b.Text.Text, "javascript:") {
			t.Error("non-http link was kept")
		}
	}
}

func TestNewSlackRejects(t *testing.T) {
	for _, u := range []string{"", "hooks.slack.com/services/x", "file:///etc/passwd", "https://"} {
		if _, err := NewSlack(u); err == nil {
			t.Errorf("NewSlack(%q) succeeded", u)
		}
	}
}
