package alerts

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSignSpecVector(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	got := Sign(sec, vectorID, time.Unix(vectorTS, 0), []byte(vectorBody))
	if got != vectorSig {
		t.Fatalf("Sign = %q, want %q", got, vectorSig)
	}
}

func vectorHeader(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTS))
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	return h
}

func TestVerify(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	other := newSecret(t)
	at := time.Unix(vectorTS, 0)
	body := []byte(vectorBody)

	tests := map[string]struct {
		sec     Secret
		header  http.Header
		body    []byte
		now     time.Time
		tol     time.Duration
		wantErr error
	}{
		"spec vector":             {sec: sec, header: vectorHeader(vectorSig), body: body, now: at},
		"within default skew":     {sec: sec, header: vectorHeader(vectorSig), body: body, now: at.Add(4 * time.Minute)},
		"tampered body":           {sec: sec, header: vectorHeader(vectorSig), body: []byte(`{"test": 2432232315}`), now: at, wantErr: ErrBadSignature},
		"re-serialised body":      {sec: sec, header: vectorHeader(vectorSig), body: []byte(`{"test":2432232314}`), now: at, wantErr: ErrBadSignature},
		"wrong secret":            {sec: other, header: vectorHeader(vectorSig), body: body, now: at, wantErr: ErrBadSignature},
		"zero secret":             {sec: Secret{}, header: vectorHeader(vectorSig), body: body, now: at, wantErr: ErrInvalidSecret},
		"too old":                 {sec: sec, header: vectorHeader(vectorSig), body: body, now: at.Add(6 * time.Minute), wantErr: ErrTooOld},
		"too new":                 {sec: sec, header: vectorHeader(vectorSig), body: body, now: at.Add(-6 * time.Minute), wantErr: ErrTooNew},
		"custom tolerance":        {sec: sec, header: vectorHeader(vectorSig), body: body, now: at.Add(time.Hour), tol: 2 * time.Hour},
		"custom tolerance exceed": {sec: sec, header: vectorHeader(vectorSig), body: body, now: at.Add(3 * time.Second), tol: time.Second, wantErr: ErrTooOld},
		"rotation: second matches": {sec: sec, body: body, now: at,
			header: vectorHeader("v1,Zm9vYmFy v1,not-base64!! " + vectorSig)},
		"rotation: unknown versions skipped": {sec: sec, body: body, now: at,
			header: vectorHeader("v1a,c2lnbmF0dXJl v2,abc " + vectorSig)},
		"only non-v1 entries": {sec: sec, body: body, now: at, wantErr: ErrNoSignature,
			header: vectorHeader("v1a," + strings.TrimPrefix(vectorSig, "v1,"))},
		"no comma":             {sec: sec, body: body, now: at, wantErr: ErrNoSignature, header: vectorHeader("v1")},
		"no signature header":  {sec: sec, body: body, now: at, wantErr: ErrNoSignature, header: vectorHeader("")},
		"all v1 entries wrong": {sec: sec, body: body, now: at, wantErr: ErrBadSignature, header: vectorHeader("v1,Zm9v v1,YmFy")},
		"too many signatures": {sec: sec, body: body, now: at, wantErr: ErrMalformedHeader,
			header: vectorHeader(strings.Repeat("v1,Zm9v ", maxSignatures) + vectorSig)},
		"missing id": {sec: sec, body: body, now: at, wantErr: ErrMissingHeader,
			header: http.Header{"Webhook-Timestamp": {strconv.Itoa(vectorTS)}, "Webhook-Signature": {vectorSig}}},
		"missing timestamp": {sec: sec, body: body, now: at, wantErr: ErrMissingHeader,
			header: http.Header{"Webhook-Id": {vectorID}, "Webhook-Signature": {vectorSig}}},
		"id with dot": {sec: sec, body: body, now: at, wantErr: ErrMalformedHeader,
			header: http.Header{"Webhook-Id": {"msg.1"}, "Webhook-Timestamp": {strconv.Itoa(vectorTS)}, "Webhook-Signature": {vectorSig}}},
		"signed timestamp reformatted": {sec: sec, body: body, now: at, wantErr: ErrBadSignature,
			header: http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"0" + strconv.Itoa(vectorTS)}, "Webhook-Signature": {vectorSig}}},
		"negative timestamp": {sec: sec, body: body, now: at, wantErr: ErrMalformedHeader,
			header: http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"-1"}, "Webhook-Signature": {vectorSig}}},
		"huge timestamp": {sec: sec, body: body, now: at, wantErr: ErrMalformedHeader,
			header: http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"9223372036854775807"}, "Webhook-Signature": {vectorSig}}},
		"timestamp with fraction": {sec: sec, body: body, now: at, wantErr: ErrMalformedHeader,
			header: http.Header{"Webhook-Id": {vectorID}, "Webhook-Timestamp": {"1614265330.5"}, "Webhook-Signature": {vectorSig}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := Verify(tc.sec, tc.header, tc.body, tc.now, tc.tol)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Verify error = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestVerifyMultipleHeaderLines(t *testing.T) {
	sec := mustSecret(t, vectorSecret)
	h := vectorHeader("v1,Zm9v")
	h.Add(HeaderSignature, vectorSig)
	if err := Verify(sec, h, []byte(vectorBody), time.Unix(vectorTS, 0), 0); err != nil {
		t.Fatalf("Verify with signature on a second header line: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	sec := newSecret(t)
	now := time.Now()
	for _, body := range [][]byte{nil, {}, []byte("{}"), []byte("\x00\xff binary . dots")} {
		h := http.Header{}
		h.Set(HeaderID, "evt_1")
		h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderSignature, Sign(sec, "evt_1", now, body))
		if err := Verify(sec, h, body, now, 0); err != nil {
			t.Errorf("body %q: %v", body, err)
		}
		// The same signature must not verify another ID: the ID is signed.
		h.Set(HeaderID, "evt_2")
		if err := Verify(sec, h, body, now, 0); !errors.Is(err, ErrBadSignature) {
			t.Errorf("body %q with swapped id: err = %v, want ErrBadSignature", body, err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	sec := mustSecret(b, vectorSecret)
	body := []byte(strings.Repeat(`{"k":"v"},`, 200)) // about 2 KB, a typical incident payload
	now := time.Unix(vectorTS, 0)
	h := http.Header{}
	h.Set(HeaderID, vectorID)
	h.Set(HeaderTimestamp, strconv.Itoa(vectorTS))
	h.Set(HeaderSignature, "v1a,c2ln "+Sign(sec, vectorID, now, body))
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Verify(sec, h, body, now, 0); err != nil {
			b.Fatal(err)
		}
	}
}
