package playground

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndex(t *testing.T) {
	h := Handler("/graphql")
	resp := get(t, h, http.MethodGet, "/", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %d, want 200", resp.StatusCode)
	}
	page := body(t, resp)
	for _, want := range []string{
		"<title>GEN Data Hub — GraphiQL</title>",
		`data-endpoint="/graphql"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("GET / body lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, " style=") {
		t.Error("index.html has an inline script or style, which the CSP forbids")
	}
	for header, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "worker-src 'self'", "font-src 'self'"} {
		if !strings.Contains(csp, want+";") {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "blob:") || strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q allows more than needed", csp)
	}
}

func TestEndpoint(t *testing.T) {
	tests := []struct {
		endpoint    string
		wantAttr    string
		wantConnect string
	}{
		{"/graphql", `data-endpoint="/graphql"`, "connect-src 'self';"},
		{"/api/graphql?x=\"><script>", `data-endpoint="/api/graphql?x=&#34;&gt;&lt;script&gt;"`, "connect-src 'self';"},
		{"https://hub.example.org/graphql", `data-endpoint="https://hub.example.org/graphql"`, "connect-src 'self' https://hub.example.org;"},
	}
	for _, tt := range tests {
		resp := get(t, Handler(tt.endpoint), http.MethodGet, "/", nil)
		if page := body(t, resp); !strings.Contains(page, tt.wantAttr) {
			t.Errorf("Handler(%q): page lacks %s", tt.endpoint, tt.wantAttr)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, tt.wantConnect) {
			t.Errorf("Handler(%q): CSP %q lacks %q", tt.endpoint, csp, tt.wantConnect)
		}
	}
}

func TestEndpointInvalid(t *testing.T) {
	for _, endpoint := range []string{"", "graphql", "javascript:alert(1)", "//evil.example/graphql", "ftp://hub/graphql"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handler(%q) did not panic", endpoint)
				}
			}()
			Handler(endpoint)
		}()
	}
}

// attrRef matches the src and href attributes of index.html.
var attrRef = regexp.MustCompile(`\b(?:src|href)="([^"]*)"`)

// TestIndexReferences checks that every file index.html loads is relative,
// hence same-origin, and is served.
func TestIndexReferences(t *testing.T) {
	h := Handler("/graphql")
	page := body(t, get(t, h, http.MethodGet, "/", nil))
	refs := attrRef.FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("index.html references %d files, want the favicon, a stylesheet and a script", len(refs))
	}
	for _, m := range refs {
		u, err := url.Parse(m[1])
		if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(m[1], "/") {
			t.Errorf("index.html references %q, want a relative path", m[1])
			continue
		}
		if resp := get(t, h, http.MethodGet, "/"+u.Path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s = %d, want 200", u.Path, resp.StatusCode)
		}
	}
}

// hashedName is the shape of the names the build gives to assets.
var hashedName = regexp.MustCompile(`^[a-z.]+-[0-9A-Z]{8}\.[a-z0-9]+$`)

func TestAssets(t *testing.T) {
	h := Handler("/graphql")
	names := embeddedFiles(t)
	var scripts, workers []string
	for _, name := range names {
		if name == "index.html" {
			continue
		}
		resp := get(t, h, http.MethodGet, "/"+name, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s = %d, want 200", name, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != contentTypes[path.Ext(name)] {
			t.Errorf("GET /%s: Content-Type %q, want %q", name, ct, contentTypes[path.Ext(name)])
		}
		if !strings.HasPrefix(name, "assets/") {
			continue
		}
		if !hashedName.MatchString(path.Base(name)) {
			t.Errorf("asset %s has no content hash in its name, yet is cached as immutable", name)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("GET /%s: Cache-Control %q, want immutable", name, cc)
		}
		if strings.Contains(name, ".worker-") {
			workers = append(workers, path.Base(name))
		} else if path.Ext(name) == ".js" {
			scripts = append(scripts, body(t, resp))
		}
	}
	if len(workers) != 3 {
		t.Errorf("found workers %v, want editor, json and graphql", workers)
	}
	// The page finds the workers by the names the build compiled into it.
	for _, w := range workers {
		found := false
		for _, s := range scripts {
			found = found || strings.Contains(s, `"`+w+`"`)
		}
		if !found {
			t.Errorf("no script refers to worker %s", w)
		}
	}
}

func TestGzip(t *testing.T) {
	h := Handler("/graphql")
	var script string
	for _, name := range embeddedFiles(t) {
		if strings.HasPrefix(name, "assets/main-") && strings.HasSuffix(name, ".js") {
			script = "/" + name
		}
	}
	plain := get(t, h, http.MethodGet, script, nil)
	want := body(t, plain)
	resp := get(t, h, http.MethodGet, script, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET %s with gzip: Content-Encoding %q", script, resp.Header.Get("Content-Encoding"))
	}
	if resp.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Error("gzipped and plain responses share an ETag")
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("gunzipped body differs from the plain one")
	}
	refused := get(t, h, http.MethodGet, script, http.Header{"Accept-Encoding": {"gzip;q=0"}})
	if refused.Header.Get("Content-Encoding") != "" {
		t.Error("served gzip to a client that refused it")
	}
	again := get(t, h, http.MethodGet, script, http.Header{"If-None-Match": {plain.Header.Get("ETag")}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match = %d, want 304", again.StatusCode)
	}
}

func TestNotFound(t *testing.T) {
	h := Handler("/graphql")
	for _, target := range []string{"/index.html", "/assets/", "/assets/nope.js", "/dist/index.html", "/graphiql", "/favicon.ico"} {
		resp := get(t, h, http.MethodGet, target, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", target, resp.StatusCode)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no X-Content-Type-Options", target)
		}
	}
	resp := get(t, h, http.MethodPost, "/", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %d, Allow %q; want 405, GET, HEAD", resp.StatusCode, resp.Header.Get("Allow"))
	}
	if resp := get(t, h, http.MethodHead, "/", nil); resp.StatusCode != http.StatusOK || body(t, resp) != "" {
		t.Errorf("HEAD / = %d, want 200 without a body", resp.StatusCode)
	}
}

// TestNoRemoteLoads checks that no embedded file would make the browser load
// anything from another host.
func TestNoRemoteLoads(t *testing.T) {
	for _, name := range embeddedFiles(t) {
		b, err := fs.ReadFile(dist, "dist/"+name)
		if err != nil {
			t.Fatal(err)
		}
		if !isText(name) {
			continue
		}
		for _, f := range remoteLoads(b) {
			t.Errorf("%s: %s", name, f)
		}
	}
}

func TestRemoteLoads(t *testing.T) {
	tests := []struct {
		name   string
		sample string
		bad    bool
	}{
		{"script src", `<script src="https://cdn.example.com/graphiql.js"></script>`, true},
		{"protocol-relative src", `<img src='//images.example.com/x.png'>`, true},
		{"stylesheet link", `<link rel="stylesheet" href="https://example.com/graphiql.css">`, true},
		{"JSX src prop", `createElement("img",{src:"https://example.com/x.png"})`, true},
		{"CSS url", `.a{background:url(https://example.com/bg.png)}`, true},
		{"CSS quoted url", `@font-face{src:url( "//example.com/f.woff2")}`, true},
		{"CSS import", `@import "https://example.com/theme.css";`, true},
		{"CSS import url", `@import url(http://example.com/theme.css);`, true},
		{"importScripts", `importScripts("https://example.com/worker.js")`, true},
		{"fetch", "fetch(`https://example.com/schema.json`)", true},
		{"worker", `new Worker('https://example.com/w.js')`, true},
		{"dynamic import", `await import("https://esm.sh/react")`, true},
		{"static import", `import x from "https://example.com/x.js";`, true},
		{"Google Fonts host", `var f="fonts.googleapis.com/css2?family=Roboto"`, true},
		{"jsDelivr host", `e.cdn="cdn.jsdelivr.net"`, true},
		{"unpkg host", `load("//unpkg.com/graphiql")`, true},
		{"local script", `<script type="module" src="assets/main-ABCD1234.js"></script>`, false},
		{"local CSS url", `@font-face{src:url(font-ABCD1234.woff2)}`, false},
		{"data URL", `.a{background:url(data:image/svg+xml;base64,PHN2Zz4=)}`, false},
		{"link in an error message", `throw Error("see https://github.com/graphql/graphiql#faq")`, false},
		{"anchor href", `<a href="https://github.com/graphql/graphiql">GraphiQL</a>`, false},
		{"JSX href prop", `jsx("a",{href:"https://code.visualstudio.com/docs",target:"_blank"})`, false},
		{"SVG namespace", `xmlns="http://www.w3.org/2000/svg"`, false},
		{"local fetch", `fetch(url,{method:"POST"})`, false},
		{"similar host name", `notunpkg.community`, false},
	}
	for _, tt := range tests {
		got := remoteLoads([]byte(tt.sample))
		if bad := len(got) > 0; bad != tt.bad {
			t.Errorf("%s: remoteLoads(%q) = %q, want bad=%v", tt.name, tt.sample, got, tt.bad)
		}
	}
}

// remote matches a URL that leaves the origin: absolute http(s) or
// protocol-relative, after an optional quote.
const remote = `\s*\\?["'` + "`" + `]?\s*(?:https?:)?//`

// loadPatterns are the ways a page, stylesheet or worker can pull in a file
// from a URL. Mentions of URLs (links, error messages, XML namespaces) are
// not loads and do not match.
var loadPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"src attribute or prop", regexp.MustCompile(`(?i)\b(?:src|srcset|poster)\s*[=:]` + remote)},
	{"<link href>", regexp.MustCompile(`(?i)<link\b[^>]*\bhref\s*=` + remote)},
	{"CSS url()", regexp.MustCompile(`(?i)\burl\(` + remote)},
	{"CSS @import", regexp.MustCompile(`(?i)@import\s+(?:url\()?` + remote)},
	{"importScripts", regexp.MustCompile(`\bimportScripts\(` + remote)},
	{"fetch", regexp.MustCompile(`\bfetch\(` + remote)},
	{"worker", regexp.MustCompile(`\bnew\s+(?:Shared)?Worker\(` + remote)},
	{"import", regexp.MustCompile(`\b(?:import\s*\(|import\s+|from\s*)` + remote)},
	{"CDN host", regexp.MustCompile(`(?i)(?:^|[^a-z0-9-])(?:` + strings.Join([]string{
		`fonts\.googleapis\.com`, `fonts\.gstatic\.com`, `cdn\.jsdelivr\.net`, `unpkg\.com`,
		`esm\.sh`, `cdnjs\.cloudflare\.com`, `ajax\.googleapis\.com`, `cdn\.skypack\.dev`,
		`jspm\.io`, `code\.jquery\.com`, `bootstrapcdn\.com`, `use\.fontawesome\.com`,
		`kit\.fontawesome\.com`, `raw\.githubusercontent\.com`, `rawgit\.com`,
	}, "|") + `)\b`)},
}

// remoteLoads returns a description of each place in content that would load
// something from another host.
func remoteLoads(content []byte) []string {
	var found []string
	for _, p := range loadPatterns {
		for _, loc := range p.re.FindAllIndex(content, -1) {
			end := min(loc[1]+60, len(content))
			found = append(found, p.what+": "+string(bytes.ToValidUTF8(content[loc[0]:end], nil)))
		}
	}
	return found
}

func isText(name string) bool {
	switch path.Ext(name) {
	case ".html", ".js", ".css", ".svg", ".json", ".txt":
		return true
	}
	return false
}

// embeddedFiles lists the files in dist, relative to it.
func embeddedFiles(t *testing.T) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(dist, "dist", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(name, "dist/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("dist is empty: run scripts/build-playground.sh")
	}
	return names
}
