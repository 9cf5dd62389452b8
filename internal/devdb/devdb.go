// Package devdb runs a private PostgreSQL cluster from the local server
// binaries, for development (`genhub serve` without DATABASE_URL) and tests.
package devdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // readiness check connects with lib/pq
)

// Options configure a private cluster.
type Options struct {
	// Dir is the state directory, created if missing. The data lives in
	// Dir/pgdata and is kept across restarts unless Ephemeral is set.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 reuses the port remembered in
	// Dir if it is free, or else picks a free one.
	Port int
	// Ephemeral trades durability for speed (tests) and makes Stop remove Dir.
	Ephemeral bool
	// Log receives the server log; nil means Dir/postgres.log.
	Log io.Writer
}

// Cluster is a private PostgreSQL cluster whose server runs as a child process.
type Cluster struct {
	bin, dir, data string
	password       string
	port           int
	autoPort       bool
	ephemeral      bool
	cred           *syscall.Credential // the postgres OS user when we run as root
	log            io.Writer
	logFile        *os.File // set when we opened Dir/postgres.log
	tail           tailBuffer

	mu      sync.Mutex
	proc    *os.Process
	done    chan struct{} // closed when the server process has exited
	stopped bool
}

// FindBinaries returns the directory holding initdb, postgres and pg_ctl:
// that of the postgres on PATH, else the newest /usr/lib/postgresql/*/bin.
func FindBinaries() (string, error) {
	// Resolve symlinks (as in /usr/local/bin) to the directory that also
	// holds psql, pg_dump and the rest.
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil && hasBinaries(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
		if hasBinaries(filepath.Dir(p)) {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasBinaries(d) {
			return d, nil
		}
	}
	return "", errors.New("devdb: PostgreSQL server binaries not found (looked on PATH and in /usr/lib/postgresql/*/bin); install them with: apt-get install postgresql")
}

func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "postgres", "pg_ctl"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Start initialises Dir/pgdata if it is empty, starts the server and waits,
// bounded by ctx, until it accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	c, err := open(ctx, bin, o)
	if err != nil {
		return nil, fmt.Errorf("devdb: start cluster: %w", err)
	}
	// A port picked as free may be taken before postgres binds it; pick again.
	for attempt := 1; ; attempt++ {
		err = c.StartServer(ctx)
		if err == nil || !c.autoPort || attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			break
		}
		if err = c.pickPort(0); err != nil {
			break
		}
	}
	if err != nil {
		c.closeLog()
		if c.ephemeral {
			os.RemoveAll(c.dir)
		}
		return nil, err
	}
	return c, nil
}

// open prepares the state directory, running initdb when needed.
func open(ctx context.Context, bin string, o Options) (*Cluster, error) {
	if o.Dir == "" {
		return nil, errors.New("no directory given")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "pgdata"), port: o.Port, ephemeral: o.Ephemeral, log: o.Log}
	if err := os.MkdirAll(dir, 0o755); err != nil { // parents too: postgres must traverse them
		return nil, err
	}
	if os.Geteuid() == 0 {
		if err := c.setUser(); err != nil {
			return nil, err
		}
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if c.port == 0 {
		c.autoPort = true
		b, _ := os.ReadFile(filepath.Join(dir, "port"))
		prev, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err := c.pickPort(prev); err != nil {
			return nil, err
		}
	}
	if c.log == nil {
		f, err := os.OpenFile(filepath.Join(dir, "postgres.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		c.log, c.logFile = f, f
	}
	return c, nil
}

// setUser makes the server run as the postgres OS user, since initdb and
// postgres refuse to run as root, and checks that this user can reach Dir.
func (c *Cluster) setUser() error {
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres OS user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
	st, err := os.Stat(c.dir)
	if err != nil {
		return err
	}
	if err := os.Chmod(c.dir, st.Mode().Perm()|0o001); err != nil {
		return err
	}
	for d := c.dir; ; d = filepath.Dir(d) {
		if !searchable(d, uint32(uid), uint32(gid)) {
			return fmt.Errorf("OS user postgres cannot reach %s because it may not enter %s; run `chmod o+x %s` or choose a directory outside it", c.dir, d, d)
		}
		if d == "/" {
			return nil
		}
	}
}

// searchable reports whether uid/gid may traverse dir, by its mode bits.
// Running as root, the hub keeps no supplementary groups for postgres.
func searchable(dir string, uid, gid uint32) bool {
	st, err := os.Stat(dir)
	if err != nil {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	switch mode := st.Mode().Perm(); {
	case sys.Uid == uid:
		return mode&0o100 != 0
	case sys.Gid == gid:
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// initdb creates the cluster in an empty data directory, or reads the
// password of an existing one.
func (c *Cluster) initdb(ctx context.Context) error {
	pwPath := filepath.Join(c.dir, "superuser.password")
	if entries, err := os.ReadDir(c.data); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(c.data, "PG_VERSION")); err != nil {
			return fmt.Errorf("%s is neither empty nor a PostgreSQL data directory", c.data)
		}
		b, err := os.ReadFile(pwPath)
		if err != nil {
			return fmt.Errorf("read superuser password: %w", err)
		}
		c.password = strings.TrimSpace(string(b))
		return nil
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return err
	}
	if err := c.chownData(); err != nil {
		return err
	}
	b := make([]byte, 24)
	rand.Read(b)
	c.password = hex.EncodeToString(b)
	if err := os.WriteFile(pwPath, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	// initdb runs as postgres and cannot read the hub's password file.
	pwfile := filepath.Join(c.dir, "initdb.pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if c.cred != nil {
		if err := os.Chown(pwfile, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return err
		}
	}
	cmd := c.command(ctx, "initdb", "-D", c.data, "-U", "postgres", "--pwfile="+pwfile,
		"--auth=scram-sha-256", "--locale=C.UTF-8", "--encoding=UTF8", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, lastLines(string(out), 20))
	}
	// TCP with a password only: no unix socket or trust lines.
	return os.WriteFile(filepath.Join(c.data, "pg_hba.conf"), []byte("host all all 127.0.0.1/32 scram-sha-256\n"), 0o600)
}

// chownData gives the data directory to the postgres OS user when we are root.
func (c *Cluster) chownData() error {
	if c.cred == nil {
		return nil
	}
	return filepath.WalkDir(c.data, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// command prepares a server binary to run as the cluster's OS user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	return cmd
}

// pickPort uses port prev if it is free on 127.0.0.1, or else a free one,
// and remembers it in Dir/port for the next run.
func (c *Cluster) pickPort(prev int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(prev)))
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		return err
	}
	c.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return os.WriteFile(filepath.Join(c.dir, "port"), []byte(strconv.Itoa(c.port)+"\n"), 0o644)
}

// URL returns the superuser URL of database on the cluster.
func (c *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable",
		url.QueryEscape(c.password), c.port, url.PathEscape(database))
}

// Port returns the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Dir returns the state directory.
func (c *Cluster) Dir() string { return c.dir }

// StartServer starts the server of a stopped cluster on the same data
// directory and port, and waits, bounded by ctx, until it accepts connections.
func (c *Cluster) StartServer(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startLocked(ctx); err != nil {
		return fmt.Errorf("devdb: start server: %w", err)
	}
	return nil
}

func (c *Cluster) startLocked(ctx context.Context) error {
	if c.stopped {
		return errors.New("cluster was stopped")
	}
	if c.proc != nil {
		select {
		case <-c.done: // exited on its own (crash, or killed from outside)
			c.proc = nil
		default:
			return nil
		}
	}
	if err := c.stopStale(ctx); err != nil {
		return err
	}
	if err := c.chownData(); err != nil {
		return err
	}
	args := []string{"-D", c.data, "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "shared_preload_libraries=pg_stat_statements",
		"-c", "max_connections=200",
		"-c", "shared_buffers=128MB",
	}
	if c.ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Stdout = io.MultiWriter(c.log, &c.tail)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	// SIGQUIT (immediate shutdown) when the hub dies, so no server is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT}
	c.tail.Reset()

	// Pdeathsig fires when the creating OS thread exits, which Go may do
	// to threads of goroutines that lock them. Keep the creating thread
	// locked to this goroutine for the life of the server.
	started := make(chan error)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return err
	}
	c.proc, c.done = cmd.Process, done

	db, err := sql.Open("postgres", c.URL("postgres")+"&connect_timeout=5")
	if err != nil {
		return err
	}
	defer db.Close()
	for {
		select {
		case <-done:
			c.proc = nil
			return fmt.Errorf("postgres exited: %s\n%s", cmd.ProcessState, c.tail.lastLines(20))
		case <-ctx.Done():
			c.stopLocked(syscall.SIGQUIT)
			return fmt.Errorf("postgres not ready: %w\n%s", ctx.Err(), c.tail.lastLines(20))
		case <-time.After(50 * time.Millisecond):
		}
		if db.PingContext(ctx) == nil {
			return nil
		}
	}
}

// stopStale stops a server left running on the data directory by an
// earlier process; pid files of dead processes are left to postgres.
func (c *Cluster) stopStale(ctx context.Context) error {
	b, err := os.ReadFile(filepath.Join(c.data, "postmaster.pid"))
	if err != nil {
		return nil
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return nil
	}
	if comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); strings.TrimSpace(string(comm)) != "postgres" {
		return nil
	}
	out, err := c.command(ctx, "pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "10").CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop earlier server (pid %d): %w\n%s", pid, err, lastLines(string(out), 10))
	}
	return nil
}

// StopServer shuts the server down and keeps the data directory, so that
// StartServer can bring it back; it does nothing when the server is stopped.
func (c *Cluster) StopServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(syscall.SIGINT)
}

// KillServer stops the server with an immediate shutdown, as in a crash:
// the next StartServer runs crash recovery.
func (c *Cluster) KillServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(syscall.SIGQUIT)
}

// stopLocked sends first (SIGINT: fast shutdown, SIGQUIT: immediate), then
// escalates if the server has not exited in time.
func (c *Cluster) stopLocked(first syscall.Signal) error {
	if c.proc == nil {
		return nil
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{first, 10 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for _, s := range steps {
		c.proc.Signal(s.sig)
		select {
		case <-c.done:
			c.proc = nil
			return nil
		case <-time.After(s.wait):
		}
	}
	return fmt.Errorf("devdb: stop server: postgres (pid %d) did not exit", c.proc.Pid)
}

// Stop shuts the server down (fast shutdown, then immediate after 10 s)
// and, for an ephemeral cluster, removes Dir. Calling it again does nothing.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if err := c.stopLocked(syscall.SIGINT); err != nil {
		return err
	}
	c.stopped = true
	c.closeLog()
	if c.ephemeral {
		if err := os.RemoveAll(c.dir); err != nil {
			return fmt.Errorf("devdb: stop cluster: %w", err)
		}
	}
	return nil
}

func (c *Cluster) closeLog() {
	if c.logFile != nil {
		c.logFile.Close()
	}
}

// tailBuffer keeps the end of the server log for error messages.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 16<<10 {
		t.b = append([]byte(nil), t.b[len(t.b)-8<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = nil
}

func (t *tailBuffer) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return lastLines(string(t.b), n)
}

// lastLines returns the last n lines of s, indented, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// RunningURL returns the superuser URL of database on a cluster that another
// process (a running hub) serves from Dir, so that commands can use it
// without starting a second server on the same data.
func RunningURL(dir, database string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "pgdata", "postmaster.pid"))
	if err != nil {
		return "", false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return "", false
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ := strconv.Atoi(strings.TrimSpace(lines[3]))
	if pid <= 0 || port <= 0 {
		return "", false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return "", false
	}
	pw, err := os.ReadFile(filepath.Join(dir, "superuser.password"))
	if err != nil {
		return "", false
	}
	c := &Cluster{password: strings.TrimSpace(string(pw)), port: port}
	return c.URL(database), true
}
