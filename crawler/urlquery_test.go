package crawler

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestEscapeQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a=1&b=two%20words", "a=1&b=two%20words"},
		{"x=\u202egpj.exe", "x=%E2%80%AEgpj.exe"},
		{"\u009b31m", "%C2%9B31m"},
		{"x= @channel *bold*", "x=%20@channel%20*bold*"},
		{"q=<b>|{}\\^`\"", "q=%3Cb%3E%7C%7B%7D%5C%5E%60%22"},
		{"\xff\x7f", "%FF%7F"},
	}
	for _, tt := range tests {
		got := escapeQuery(tt.in)
		if got != tt.want {
			t.Errorf("escapeQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Nothing is lost: the query decodes to what it did.
		a, errA := url.ParseQuery(tt.in)
		b, errB := url.ParseQuery(got)
		if (errA == nil) != (errB == nil) || errA == nil && a.Encode() != b.Encode() {
			t.Errorf("escapeQuery(%q) decodes to %v, want %v", tt.in, b, a)
		}
	}
}

// A link's query is recorded encoded: a bidi override in it cannot turn
// round the URL a report or an alert shows.
func TestExtractLinksEncodesQuery(t *testing.T) {
	base, _ := url.Parse("http://dump.example/thread/")
	links, _ := ExtractLinks(base, []byte("<a href=\"photo.jpg?\u202eelif-laer\">x</a><img src=\"/b.png?x= @channel\">"), 10)
	want := map[string]bool{"http://dump.example/thread/photo.jpg?%E2%80%AEelif-laer": true, "http://dump.example/b.png?x=%20@channel": true}
	if len(links) != len(want) {
		t.Fatalf("links %+v", links)
	}
	for _, l := range links {
		if !want[l.URL] {
			t.Errorf("link %q, want one of %v", l.URL, want)
		}
	}
}

func TestValidatorsBounded(t *testing.T) {
	h := http.Header{}
	h.Set("ETag", `"`+strings.Repeat("x", 1000)+`"`)
	h.Set("Last-Modified", strings.Repeat("y", 1000))
	if v := validators(LinkImage, h, nil); v.ETag != "" || v.LastModified != "" {
		t.Errorf("oversized validators kept: %d and %d bytes", len(v.ETag), len(v.LastModified))
	}
	h.Set("ETag", `"abc123"`)
	h.Set("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
	if v := validators(LinkImage, h, nil); v.ETag != `"abc123"` || v.LastModified != "Wed, 21 Oct 2015 07:28:00 GMT" {
		t.Errorf("real validators dropped: %+v", v)
	}
}
