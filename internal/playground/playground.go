// Package playground serves the hub's GraphiQL page and its assets. Everything
// the page loads (scripts, styles, fonts, Monaco's web workers) is embedded in
// the binary and served from the hub's own origin, so the playground works on
// a network without internet access.
//
// The files in dist are built by scripts/build-playground.sh from the npm
// packages pinned in web/graphiql; they are committed so that building the hub
// never needs Node.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed dist
var dist embed.FS

// contentTypes lists the types of the files the build writes; a file of any
// other kind is served as application/octet-stream.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".json":  "application/json",
	".png":   "image/png",
	".svg":   "image/svg+xml",
	".ttf":   "font/ttf",
	".txt":   "text/plain; charset=utf-8",
	".woff":  "font/woff",
	".woff2": "font/woff2",
}

// compressible lists the extensions worth serving gzipped.
var compressible = map[string]bool{".css": true, ".js": true, ".svg": true, ".ttf": true, ".txt": true}

type asset struct {
	body  []byte
	ctype string
	etag  string
	cache string

	gzOnce sync.Once
	gz     []byte
}

type handler struct {
	csp   string
	files map[string]*asset // by URL path
}

// Handler returns the playground handler, meant to be mounted at "/": it serves
// the GraphiQL page at "/", which sends queries to endpoint, the hashed assets
// under "/assets/" and the bundled packages' licenses at
// "/THIRD_PARTY_LICENSES.txt"; any other path is 404. The endpoint is a path
// such as "/graphql" or an absolute http(s) URL, which the Content-Security-Policy
// then allows the page to connect to. Handler panics on any other endpoint, as
// it is a programming error.
func Handler(endpoint string) http.Handler {
	connect, err := connectSource(endpoint)
	if err != nil {
		panic(fmt.Sprintf("playground: %v", err))
	}
	h := &handler{
		csp:   contentSecurityPolicy(connect),
		files: make(map[string]*asset),
	}

	page, err := renderIndex(endpoint)
	if err != nil {
		panic(fmt.Sprintf("playground: %v", err))
	}
	h.files["/"] = newAsset(page, ".html", "no-cache")

	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(fmt.Sprintf("playground: %v", err))
	}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || name == "index.html" {
			return err
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		cache := "no-cache"
		if strings.HasPrefix(name, "assets/") {
			// The build puts a content hash in every name under assets/.
			cache = "public, max-age=31536000, immutable"
		}
		h.files["/"+name] = newAsset(body, path.Ext(name), cache)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("playground: read embedded files: %v", err))
	}
	return h
}

// connectSource checks the endpoint and returns the origin the page must be
// allowed to connect to besides its own, if any.
func connectSource(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", endpoint, err)
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/"):
		return "", nil
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return u.Scheme + "://" + u.Host, nil
	}
	return "", fmt.Errorf("endpoint %q is neither a path nor an http(s) URL", endpoint)
}

// contentSecurityPolicy allows the page to load only from its own origin.
// Checked in Chromium: scripts need no 'unsafe-eval' and workers load from
// 'self', but Monaco renders lines with inline style attributes and inserts
// <style> elements at run time (style-src 'unsafe-inline'), and draws its
// error squiggles with generated data: SVG images (img-src data:). Neither
// reaches the network.
func contentSecurityPolicy(connect string) string {
	connectSrc := "'self'"
	if connect != "" {
		connectSrc += " " + connect
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self' 'unsafe-inline'",
		"font-src 'self'",
		"img-src 'self' data:",
		"connect-src " + connectSrc,
		"worker-src 'self'",
		"base-uri 'none'",
		"form-action 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// renderIndex fills the endpoint into dist/index.html, an html/template that
// passes it to the page in a data attribute.
func renderIndex(endpoint string) ([]byte, error) {
	tmpl, err := template.ParseFS(dist, "dist/index.html")
	if err != nil {
		return nil, fmt.Errorf("parse index.html: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ Endpoint string }{endpoint}); err != nil {
		return nil, fmt.Errorf("render index.html: %w", err)
	}
	return buf.Bytes(), nil
}

func newAsset(body []byte, ext, cache string) *asset {
	sum := sha256.Sum256(body)
	ctype, ok := contentTypes[ext]
	if !ok {
		ctype = "application/octet-stream"
	}
	return &asset{
		body:  body,
		ctype: ctype,
		etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
		cache: cache,
	}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", h.csp)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")

	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}

	hdr.Set("Content-Type", a.ctype)
	hdr.Set("Cache-Control", a.cache)
	body, etag := a.body, a.etag
	if compressible[path.Ext(r.URL.Path)] {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// gzipped compresses the asset once, on first use, rather than every asset
// when the handler is built.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(a.body)
		zw.Close()
		a.gz = buf.Bytes()
	})
	return a.gz
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// without refusing it with q=0.
func acceptsGzip(r *http.Request) bool {
	for _, field := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(field, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
