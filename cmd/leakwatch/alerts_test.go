package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leakwatch/leakwatch/alerts"
	"github.com/leakwatch/leakwatch/internal/store"
)

func TestAlertsTestCommand(t *testing.T) {
	fx := newOpsFixture(t, 0)
	good := newReceiver(t, fx.secret)
	gone := newReceiver(t, fx.secret, alerts.WithFailFirst(1, http.StatusGone))
	logPath := filepath.Join(fx.dir, "test.jsonl")

	code, stdout, stderr := fx.run(t, context.Background(), "alerts", "test", "--json", "--webhook", good.URL, "--alert-log", logPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var results []alerts.ProbeResult
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r alerts.ProbeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		results = append(results, r)
	}
	if len(results) != 2 || !results[0].OK || !results[1].OK {
		t.Fatalf("results %+v", results)
	}
	evs := good.Received()
	if len(evs) != 1 || evs[0].Type != alerts.TypeTest || !evs[0].Verified || evs[0].ID != results[0].EventID {
		t.Fatalf("receiver got %+v", evs)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), `"type":"test"`) {
		t.Errorf("log sink: %q", b)
	}

	code, stdout, _ = fx.run(t, context.Background(), "alerts", "test", "--webhook", gone.URL)
	if code != exitError || !strings.Contains(stdout, "gone") {
		t.Errorf("410 endpoint: exit %d, stdout %q", code, stdout)
	}
	// Without a secret, a webhook cannot be tested; nothing at all is a
	// usage error too.
	code, _, stderr = fx.runEnv(t, context.Background(), map[string]string{alerts.EnvSecret: ""}, "alerts", "test", "--webhook", good.URL)
	if code != exitUsage || !strings.Contains(stderr, "signing secret") {
		t.Errorf("no secret: exit %d, %s", code, stderr)
	}
	if code, _, _ := fx.run(t, context.Background(), "alerts", "test"); code != exitUsage {
		t.Errorf("no endpoints: exit %d", code)
	}
}

// TestReceiverDownThenRecoversCLI runs a scan whose webhook receiver fails
// its first deliveries: every event still arrives, each once.
func TestReceiverDownThenRecoversCLI(t *testing.T) {
	fx := newOpsFixture(t, 0)
	recv := newReceiver(t, fx.secret, alerts.WithFailFirst(3, http.StatusServiceUnavailable))
	storePath := filepath.Join(fx.dir, "lw.db")
	code, _, stderr := fx.run(t, context.Background(), "scan", "--bank", fx.bank, "--store", storePath, "--group-by", "page",
		"--webhook", recv.URL, "--alert-wait", "2m", fx.site)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	st := openStore(t, storePath)
	ids, err := st.EventIDs(context.Background())
	if err != nil || len(ids) < 2 {
		t.Fatalf("outbox ids %v, %v", ids, err)
	}
	got := map[string]bool{}
	failed := 0
	for _, ev := range recv.Received() {
		got[ev.ID] = true
		failed += ev.Attempts - 1
	}
	for _, id := range ids {
		if !got[id] {
			t.Errorf("event %s lost", id)
		}
	}
	if len(got) != len(ids) || failed != 3 {
		t.Errorf("received %d ids (want %d) after %d failed attempts (want 3)", len(got), len(ids), failed)
	}
	if ds, _ := st.Deliveries(context.Background(), store.DeliveryPending); len(ds) != 0 {
		t.Errorf("still pending: %+v", ds)
	}
}

// TestGoneEndpointDisabledUntilEnabled: a receiver answering 410 is
// disabled, its events wait, and "alerts enable" lets them go out.
func TestGoneEndpointDisabledUntilEnabled(t *testing.T) {
	fx := newOpsFixture(t, 0)
	recv := newReceiver(t, fx.secret, alerts.WithFailFirst(1, http.StatusGone))
	storePath := filepath.Join(fx.dir, "lw.db")
	scan := func() {
		t.Helper()
		if code, _, stderr := fx.run(t, context.Background(), "scan", "--bank", fx.bank, "--store", storePath,
			"--webhook", recv.URL, "--alert-wait", "1m", fx.site); code != exitOK {
			t.Fatalf("scan: exit %d: %s", code, stderr)
		}
	}
	scan()
	key := alerts.EndpointKey("webhook", recv.URL)
	code, stdout, _ := fx.run(t, context.Background(), "alerts", "endpoints", "--store", storePath, "--json")
	var ep store.Endpoint
	if code != exitOK || json.Unmarshal([]byte(strings.TrimSpace(stdout)), &ep) != nil || ep.Key != key || !ep.Disabled || ep.Pending == 0 {
		t.Fatalf("endpoints after 410: exit %d %q", code, stdout)
	}
	scan() // disabled: nothing is sent
	if n := len(recv.Received()); n != 0 {
		t.Fatalf("a disabled endpoint received %d events", n)
	}
	if code, stdout, stderr := fx.run(t, context.Background(), "alerts", "enable", "--store", storePath, key); code != exitOK || !strings.Contains(stdout, "enabled") {
		t.Fatalf("enable: exit %d %q %q", code, stdout, stderr)
	}
	scan()
	if n := len(recv.Received()); n != ep.Pending {
		t.Errorf("after enabling: received %d events, want the %d pending", n, ep.Pending)
	}
	code, stdout, _ = fx.run(t, context.Background(), "alerts", "list", "--store", storePath, "--status", "pending", "--json")
	if code != exitOK || strings.TrimSpace(stdout) != "" {
		t.Errorf("pending after enabling: %q", stdout)
	}
	if code, _, stderr := fx.run(t, context.Background(), "alerts", "enable", "--store", storePath, "webhook:000000000000"); code != exitError || !strings.Contains(stderr, "not found") {
		t.Errorf("enabling an unknown endpoint: exit %d %s", code, stderr)
	}
}

// TestCredentialsNeverPrinted runs a scan with debug JSON logs to a
// webhook and a Slack endpoint whose URL is a credential: neither the
// signing secret nor the Slack token shows in any output or listing.
func TestCredentialsNeverPrinted(t *testing.T) {
	fx := newOpsFixture(t, 0)
	recv := newReceiver(t, fx.secret)
	const token = "T0TESTTOKEN/B0TESTTOKEN/xoxSECRETslackTOKEN"
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	defer slack.Close()
	urlFile := filepath.Join(fx.dir, "slack-url")
	if err := os.WriteFile(urlFile, []byte(slack.URL+"/services/"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storePath := filepath.Join(fx.dir, "lw.db")
	var out strings.Builder
	for _, args := range [][]string{
		{"--log-level", "debug", "--log-format", "json", "scan", "--bank", fx.bank, "--store", storePath, "--json",
			"--webhook", recv.URL, "--slack-webhook-file", urlFile, fx.site},
		{"--log-level", "debug", "alerts", "test", "--webhook", recv.URL, "--slack-webhook-file", urlFile},
		{"alerts", "endpoints", "--store", storePath},
		{"alerts", "list", "--store", storePath, "--json"},
	} {
		code, stdout, stderr := fx.run(t, context.Background(), args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		out.WriteString(stdout + stderr)
	}
	secretB64 := strings.TrimPrefix(fx.secret.Reveal(), "whsec_")
	for _, cred := range []string{secretB64, "xoxSECRETslackTOKEN"} {
		if strings.Contains(out.String(), cred) {
			t.Errorf("output contains a credential (%.8s...)", cred)
		}
	}
	if !strings.Contains(out.String(), "slack(") {
		t.Error("the Slack endpoint is not identified at all in the output")
	}
}
