package cli

import (
	"errors"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// wrapRun adapts a command body so that every error it returns is
// classified: usage errors stay usage errors (exit 2), an interruption
// stays one (exit 130), anything else becomes a runtime failure named
// after the command (exit 1). Without this, a stray plain error would be
// mistaken for one of cobra's usage complaints.
func wrapRun(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		err := f(cmd, args)
		if err == nil {
			return nil
		}
		var ue *usageError
		var re *runError
		if errors.As(err, &ue) || errors.As(err, &re) || errors.Is(err, errInterrupted) {
			return err
		}
		return &runError{what: cmd.Name(), err: err}
	}
}

// progress returns a callback that drives a progress bar on stderr, or
// nil when stderr is not a terminal: bars are for people watching, never
// for logs or pipes.
func (a *app) progress(description string, bytes bool) (update func(done, total int64), finish func()) {
	if !a.stderrTerm {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	var last int64
	update = func(done, total int64) {
		if bar == nil {
			opts := []progressbar.Option{
				progressbar.OptionSetWriter(a.stderr),
				progressbar.OptionSetDescription(description),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100 * time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionEnableColorCodes(!a.noColor),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionShowCount(),
			}
			if bytes {
				opts = append(opts, progressbar.OptionShowBytes(true))
			}
			bar = progressbar.NewOptions64(total, opts...)
			_ = bar.RenderBlank() // show what runs before its first step ends
		}
		if total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		if done != last {
			_ = bar.Set64(done)
			last = done
		}
	}
	finish = func() {
		if bar != nil {
			_ = bar.Finish()
			_ = bar.Clear()
		}
	}
	return update, finish
}

// flusher is implemented by writers that buffer (bufio.Writer); streamed
// text is flushed per token so a reader of the pipe sees it as produced.
type flusher interface{ Flush() error }

// writeFlush writes s to w and flushes it when w buffers.
func writeFlush(w io.Writer, s string) error {
	if s == "" {
		return nil
	}
	if _, err := io.WriteString(w, s); err != nil {
		return err
	}
	if f, ok := w.(flusher); ok {
		return f.Flush()
	}
	return nil
}

// spinner shows an indeterminate progress indicator on stderr while a
// step without progress reports runs (building a synthetic model, scoring
// a long text); nothing when stderr is not a terminal. stop removes it.
func (a *app) spinner(description string) (stop func()) {
	if !a.stderrTerm {
		return func() {}
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(description),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionEnableColorCodes(!a.noColor),
		progressbar.OptionSetElapsedTime(true),
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = bar.Add(1)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		_ = bar.Finish()
		_ = bar.Clear()
	}
}
