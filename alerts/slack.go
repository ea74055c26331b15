package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Slack Block Kit limits we must stay under or the whole message is
// rejected with invalid_blocks.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

// Slack delivers a human-readable summary to a Slack incoming webhook (or a
// compatible one, e.g. Mattermost). The URL is the credential: it is never
// logged or put in errors, only its host.
type Slack struct {
	s *httpSender
}

var _ Notifier = (*Slack)(nil)

// NewSlack returns a notifier for the incoming-webhook URL rawURL.
func NewSlack(rawURL string, opts ...WebhookOption) (*Slack, error) {
	s, err := newHTTPSender("slack", rawURL, opts)
	if err != nil {
		return nil, err
	}
	return &Slack{s: s}, nil
}

// Name returns "slack(host)".
func (sl *Slack) Name() string { return sl.s.name() }

// Notify posts one message. Slack answers success with HTTP 200 and the
// body "ok"; a 200 with anything else is treated as a permanent failure.
func (sl *Slack) Notify(ctx context.Context, ev Event) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("alerts: %s: %w", sl.Name(), err)
	}
	body, err := json.Marshal(slackMessageFor(ev))
	if err != nil {
		return fmt.Errorf("alerts: %s: %w: %w", sl.Name(), ErrInvalidEvent, err)
	}
	start := time.Now()
	resp, err := sl.s.post(ctx, make(http.Header, 2), body)
	if err == nil {
		switch {
		case resp.status == http.StatusOK && string(bytes.TrimSpace(resp.body)) == "ok":
		case resp.status == http.StatusOK:
			err = fmt.Errorf("%w: %w", ErrPermanent,
				&StatusError{StatusCode: resp.status, Body: excerpt(resp.body)})
		default:
			err = classifyStatus(resp, sl.s.now())
		}
	}
	sl.s.logOutcome(ctx, ev, resp.status, time.Since(start), err)
	if err != nil {
		return fmt.Errorf("alerts: %s: %w", sl.Name(), err)
	}
	return nil
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks,omitempty"`
	// Unfurling is off: Slack's servers would otherwise fetch the linked
	// dump site (and its images) to draw a preview.
	UnfurlLinks bool `json:"unfurl_links"`
	UnfurlMedia bool `json:"unfurl_media"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// Verbatim stops Slack from turning URLs and names in the text into
	// links and mentions: the text holds a dump site's addresses.
	Verbatim bool `json:"verbatim,omitempty"`
}

// slackMessageFor builds the message: a header, the summary text and a
// context line with type, ID and time. "text" repeats the essentials as
// the notification fallback. The summary's link is left out, and the text
// is verbatim: a click on a link in a Slack alert would take the analyst's
// own browser to the dump site, and the addresses in the text are the
// dump site's, so Slack must not make links or mentions of them.
func slackMessageFor(ev Event) slackMessage {
	title, text := "leakwatch: "+ev.Type, ""
	if s, ok := ev.Data.(Summarizer); ok {
		t, x, _ := s.AlertSummary()
		if t != "" {
			title = t
		}
		text = x
	}
	when := ev.Timestamp.UTC().Format(time.RFC3339)

	fallback := title
	if text != "" {
		fallback += ": " + text
	}
	msg := slackMessage{Text: truncate(slackEscape(fallback), slackSectionMax)}
	msg.Blocks = append(msg.Blocks, slackBlock{
		Type: "header",
		Text: &slackText{Type: "plain_text", Text: truncate(title, slackHeaderMax)},
	})
	if text != "" {
		msg.Blocks = append(msg.Blocks, slackBlock{
			Type: "section",
			Text: &slackText{Type: "mrkdwn", Text: truncate(slackEscape(text), slackSectionMax), Verbatim: true},
		})
	}
	msg.Blocks = append(msg.Blocks, slackBlock{
		Type: "context",
		Elements: []slackText{{Type: "mrkdwn", Verbatim: true,
			Text: slackEscape(fmt.Sprintf("%s · %s · %s", ev.Type, ev.ID, when))}},
	})
	return msg
}

// slackEscape escapes the three characters Slack's mrkdwn treats as markup
// delimiters, so text from a crawled page cannot forge links or mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// safeLink keeps only absolute http(s) links and escapes the characters
// that would end Slack's <url|label> syntax early.
func safeLink(l string) string {
	u, err := url.Parse(l)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return strings.NewReplacer("|", "%7C", ">", "%3E", "<", "%3C").Replace(u.String())
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
