package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gale-ai/gale/internal/mmap"
)

// ptyRun is gale running on a pseudo-terminal, as in an interactive shell:
// stdin, stdout and stderr are the terminal, and Ctrl-C typed on it sends
// SIGINT through the line discipline.
type ptyRun struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    strings.Builder
	done   chan error
	// drained is closed when the reader has seen the terminal's end
	// (EIO once the process and every copy of the slave are gone).
	drained chan struct{}
}

func startPTY(t *testing.T, env []string, args ...string) *ptyRun {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skip("no pseudo-terminals:", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skip("cannot unlock pty:", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skip("no pty number:", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip("cannot open pty:", err)
	}
	cmd := exec.Command(galeBin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	p := &ptyRun{t: t, master: master, cmd: cmd, done: make(chan error, 1), drained: make(chan struct{})}
	go func() {
		defer close(p.drained)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		master.Close()
	})
	return p
}

func (p *ptyRun) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the terminal shows s after byte offset from, and
// returns the offset just past it.
func (p *ptyRun) waitFor(s string, from int) int {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out := p.output()
		if from <= len(out) {
			if i := strings.Index(out[from:], s); i >= 0 {
				return from + i + len(s)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("terminal never showed %q after offset %d; it shows:\n%q", s, from, p.output())
	return 0
}

func (p *ptyRun) send(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

func (p *ptyRun) wait() int {
	p.t.Helper()
	select {
	case err := <-p.done:
		// The process has exited, but what it wrote may still sit in
		// the terminal: read it all before anyone looks (a test once saw
		// an empty terminal after a successful bench).
		select {
		case <-p.drained:
		case <-time.After(10 * time.Second):
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		p.t.Fatalf("gale did not exit; terminal shows:\n%q", p.output())
		return -1
	}
}

// TestChatInteractive drives gale chat on a terminal: a reply, Ctrl-C
// interrupting a long answer without ending the session, Ctrl-C at the
// prompt, /reset, and Ctrl-D to quit with status 0.
func TestChatInteractive(t *testing.T) {
	p := startPTY(t, []string{"NO_COLOR=1"}, "chat", "-n", "-1", "-c", "100000", "--ignore-eos", "--temp", "0", "--repeat-penalty", "1")
	off := p.waitFor(">>> ", 0)
	p.send("Tell me a story\n")
	off = p.waitFor("Tell me a story", off)
	// Let the answer stream for a while, then interrupt it.
	deadline := time.Now().Add(30 * time.Second)
	for len(p.output()) < off+200 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.send("\x03")
	off = p.waitFor("(interrupted)", off)
	off = p.waitFor(">>> ", off)
	p.send("\x03")
	off = p.waitFor("/bye or Ctrl-D", off)
	p.send("/reset\n")
	off = p.waitFor("(conversation cleared)", off)
	p.waitFor(">>> ", off)
	p.send("\x04")
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after Ctrl-D, want 0; terminal:\n%q", code, p.output())
	}
	if strings.Contains(p.output(), "\x1b[") {
		t.Errorf("escape codes despite NO_COLOR: %q", p.output())
	}
}

// TestGenerateOnTerminal: with stdin a terminal and no prompt, generate
// does not wait for input (it starts from BOS), and it ends its output
// with a newline so the shell prompt starts on its own line.
func TestGenerateOnTerminal(t *testing.T) {
	ref := loadReference(t)
	p := startPTY(t, nil, "generate", "-n", "200", "--temp", "0", "--repeat-penalty", "1")
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; terminal:\n%q", code, p.output())
	}
	// The terminal turns "\n" into "\r\n".
	want := strings.ReplaceAll(ref.Llama2c.Expected+"\n", "\n", "\r\n")
	time.Sleep(100 * time.Millisecond) // let the reader drain the pty
	if got := p.output(); got != want {
		t.Errorf("terminal shows\n%q\nwant\n%q", got, want)
	}
}

// TestChatREPLCommands drives ollama's REPL commands on a terminal: /?,
// /set parameter, /set system, /show info, """ multi-line messages,
// /clear and /bye. Each reply is checked against the same conversation
// given to a one-shot gale chat with the equivalent flags (piped, so its
// stdout is exactly the reply).
func TestChatREPLCommands(t *testing.T) {
	oneShot := func(a ...string) string {
		t.Helper()
		a = append([]string{"chat", "--temp", "0"}, a...)
		r := gale(t, a...)
		wantOK(t, r, a...)
		if r.stdout == "" {
			t.Fatalf("gale %s: empty reply", strings.Join(a, " "))
		}
		return r.stdout
	}
	// The terminal shows "\n" as "\r\n".
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

	// Started with a random temperature: the /set parameter lines must
	// make the replies greedy and short.
	p := startPTY(t, []string{"NO_COLOR=1"}, "chat", "--temp", "1.5", "-s", "7")
	off := p.waitFor(">>> ", 0)
	p.send("/?\n")
	off = p.waitFor("/set parameter NAME VALUE", off)
	off = p.waitFor(`"""`, off)
	off = p.waitFor(">>> ", off)
	for _, c := range [][2]string{{"temperature", "0"}, {"num_predict", "12"}, {"top_k", "5"}, {"top_p", "0.9"}, {"seed", "42"}} {
		p.send("/set parameter " + c[0] + " " + c[1] + "\n")
		off = p.waitFor("Set parameter '"+c[0]+"' to '"+c[1]+"'", off)
		off = p.waitFor(">>> ", off)
	}
	p.send("/set parameter top_k many\n")
	off = p.waitFor("not an integer", off)
	p.send("/set parameter warmth 1\n")
	off = p.waitFor("unknown parameter", off)
	p.send("/show info\n")
	for _, s := range []string{"architecture", "llama", "context length", "512", "temperature", "0", "top_k", "5", "top_p", "0.9", "num_predict", "12", "seed", "42"} {
		off = p.waitFor(s, off)
	}
	off = p.waitFor(">>> ", off)

	p.send("Hi\n")
	want := oneShot("-n", "12", "--top-k", "5", "--top-p", "0.9", "-p", "Hi")
	off = p.waitFor("Hi\r\n"+crlf(want)+"\r\n", off)
	off = p.waitFor(">>> ", off)

	// /set system, then /clear: the system message stays, the exchange
	// above is forgotten.
	p.send("/set system \"You are a cat.\"\n")
	off = p.waitFor("Set system message.", off)
	p.send("/clear\n")
	off = p.waitFor("(conversation cleared)", off)
	p.send("/show info\n")
	off = p.waitFor("You are a cat.", off)
	off = p.waitFor(">>> ", off)
	p.send("Hi\n")
	want = oneShot("-n", "12", "--system", "You are a cat.", "-p", "Hi")
	off = p.waitFor("Hi\r\n"+crlf(want)+"\r\n", off)
	off = p.waitFor(">>> ", off)

	// A message of several lines.
	p.send("/set system\n")
	off = p.waitFor("(system message cleared)", off)
	p.send("/clear\n")
	off = p.waitFor("(conversation cleared)", off)
	p.send("\"\"\"Once upon a time\n")
	off = p.waitFor("... ", off)
	p.send("there was a cat\"\"\"\n")
	want = oneShot("-n", "12", "-p", `Once upon a time\nthere was a cat`)
	off = p.waitFor("there was a cat\"\"\"\r\n"+crlf(want)+"\r\n", off)
	off = p.waitFor(">>> ", off)

	p.send("/nonsense\n")
	off = p.waitFor("unknown command /nonsense", off)
	p.send("/bye\n")
	if code := p.wait(); code != 0 {
		t.Errorf("exit %d after /bye, want 0; terminal:\n%q", code, p.output())
	}
}

// TestProgressOnTerminal: on a terminal, bench shows which test and
// repetition runs, synth how much it wrote, and loading a model whose files are not in the page
// cache reads them with a progress bar; piped, neither shows anything.
func TestProgressOnTerminal(t *testing.T) {
	p := startPTY(t, []string{"NO_COLOR=1"}, "bench", "-m", storiesDir(), "-p", "16", "-n", "4", "-r", "3", "-t", "1")
	if code := p.wait(); code != 0 {
		t.Fatalf("bench exit %d:\n%q", code, p.output())
	}
	for _, s := range []string{"pp16, 1 threads, repetition", "tg4, 1 threads, repetition", "/3)", "| pp16 |"} {
		if !strings.Contains(p.output(), s) {
			t.Errorf("bench on a terminal does not show %q:\n%q", s, p.output())
		}
	}

	// synth shows its progress on a terminal, not into a pipe.
	a := []string{"synth", "-o", t.TempDir(), "--shape", "tiny"}
	if r := gale(t, a...); r.code != 0 || r.stderr != "" {
		t.Errorf("piped synth: exit %d, stderr %q", r.code, r.stderr)
	}
	// A 166M-parameter checkpoint, then dropped from the page cache.
	dir := t.TempDir()
	p = startPTY(t, []string{"NO_COLOR=1"}, "synth", "-o", dir, "--shape", "small", "--dtype", "bf16")
	if code := p.wait(); code != 0 {
		t.Fatalf("synth exit %d:\n%q", code, p.output())
	}
	if !strings.Contains(p.output(), "writing") {
		t.Errorf("synth on a terminal shows no progress:\n%q", p.output())
	}
	drop := func() bool {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var res, size int64
		for _, e := range ents {
			f, err := os.OpenFile(dir+"/"+e.Name(), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Sync()
			unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
			r, s := resident(t, f)
			res, size = res+r, size+s
			f.Close()
		}
		return res < size/4
	}
	if !drop() {
		t.Skip("the page cache keeps the files here (cannot test a cold load)")
	}
	gen := []string{"generate", "-m", dir, "--tokens", "1", "-n", "1"}
	r := gale(t, gen...)
	wantOK(t, r, gen...)
	if r.stderr != "" {
		t.Errorf("piped cold load printed %q", r.stderr)
	}
	drop()
	p = startPTY(t, []string{"NO_COLOR=1"}, gen...)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d:\n%q", code, p.output())
	}
	if !strings.Contains(p.output(), "reading weights") {
		t.Errorf("cold load on a terminal shows no progress:\n%q", p.output())
	}
	// Now cached: no bar.
	p = startPTY(t, []string{"NO_COLOR=1"}, gen...)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d:\n%q", code, p.output())
	}
	if strings.Contains(p.output(), "reading weights") {
		t.Errorf("warm load on a terminal shows the reading bar:\n%q", p.output())
	}
}

// resident counts f's bytes in the page cache with mincore(2).
func resident(t *testing.T, f *os.File) (res, size int64) {
	t.Helper()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, 0
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(data)
	pages, _, ok := mmap.ResidentPages(data)
	if !ok {
		t.Fatal("mincore failed")
	}
	return min(int64(pages)*int64(os.Getpagesize()), fi.Size()), fi.Size()
}
